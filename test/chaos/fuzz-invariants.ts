/**
 * What must hold in the coordinator's store after every fuzz batch, read while no request is in
 * flight: at most one Active node per instance, no Terminated node Active again, no acknowledged
 * registration missing, and counts that agree across the seed APIs.
 */
import { waitFor } from '../helpers/spawn-process.ts';
import type { StoreReader, StoreSnapshot } from './store-reader.ts';

/** The reads of the seed APIs the count checks compare (an admin's). */
export interface SeedApis {
  /** cluster_GetDetails of a cluster: its Active nodes. */
  activeNodes(cluster: string): Promise<{ nodeId: string; status: string }[]>;
  /** Every cluster of the clusters API (seed 001), every page. */
  clusters(): Promise<ClusterCounts[]>;
  /** The `count` of the instances API (seed 002) for a filter. */
  instanceCount(filter: Record<string, string>): Promise<number>;
}

export interface ClusterCounts {
  id: string;
  name: string;
  nodes_count: number;
  running_nodes_count: number;
  disabled_nodes_count: number;
  failed_to_install_nodes_count: number;
}

interface ClusterView {
  counts: ClusterCounts;
  activeNodes: { nodeId: string; status: string }[];
  instances: number;
  ready: number;
  disabled: number;
  failedToInstall: number;
}

export class FuzzInvariants {
  /** Every node ever seen Terminated (in the store, or answered so): none may be Active again. */
  readonly terminated = new Set<string>();
  /** Instances ever seen with two Active nodes. */
  readonly doubleActive = new Set<number>();
  /** Every problem found, in the order found. */
  readonly violations: string[] = [];
  checks = 0;
  /** Registrations answered 200 and not yet found in the store. */
  private readonly acknowledged = new Set<string>();
  private readonly instanceOfNode = new Map<string, number>();
  private readonly deletedInstances = new Set<number>();
  private deletionSinceCheck = false;

  constructor(
    private readonly reader: StoreReader,
    private readonly apis: SeedApis,
  ) {}

  registered(nodeId: string): void {
    this.acknowledged.add(nodeId);
  }

  /** A deregistration answered 200, or a 410 NodeTerminated: the node is Terminated for good. */
  terminatedNode(nodeId: string): void {
    this.terminated.add(nodeId);
  }

  deletedInstance(id: number): void {
    this.deletedInstances.add(id);
    this.deletionSinceCheck = true;
  }

  /** Checks everything once; returns the problems found now (also kept in `violations`). */
  async check(): Promise<string[]> {
    this.checks += 1;
    const found: string[] = [];
    const { before, views } = await this.quietRead();
    found.push(...this.storeProblems(before), ...countProblems(before, views), ...this.apiProblems(views));
    this.deletionSinceCheck = false;
    this.violations.push(...found);
    return found;
  }

  /**
   * The store, then the APIs, then the store again, until nothing changed in between: the
   * sweeper may time a node out during the reads (no fuzz request is in flight then), and the
   * counts are only comparable when they describe one moment.
   */
  private async quietRead(): Promise<{ before: StoreSnapshot; views: ClusterView[] }> {
    return waitFor(
      async () => {
        const before = await this.reader.read();
        const views = await this.clusterViews();
        const after = await this.reader.read();
        return sameNodes(before, after) ? { before, views } : undefined;
      },
      60_000,
      { intervalMs: 100, message: 'a moment when the store held still for the count checks' },
    );
  }

  private async clusterViews(): Promise<ClusterView[]> {
    const views: ClusterView[] = [];
    for (const counts of await this.apis.clusters()) {
      const cluster = counts.name;
      views.push({
        counts,
        activeNodes: await this.apis.activeNodes(cluster),
        instances: await this.apis.instanceCount({ cluster }),
        ready: await this.apis.instanceCount({ cluster, node_state: 'ready' }),
        disabled: await this.apis.instanceCount({ cluster, enabled: 'false' }),
        failedToInstall: await this.apis.instanceCount({ cluster, node_state: 'provision-fail' }),
      });
    }
    return views;
  }

  private storeProblems(snapshot: StoreSnapshot): string[] {
    const problems: string[] = [];
    for (const { instanceId, active } of snapshot.doubleActive) {
      this.doubleActive.add(instanceId);
      problems.push(`instance ${instanceId} has ${active} Active nodes`);
    }
    for (const node of snapshot.nodes.values()) {
      this.instanceOfNode.set(node.nodeId, node.instanceId);
      if (node.status === 'Active' && this.terminated.has(node.nodeId)) problems.push(`node ${node.nodeId} was Terminated and is Active again`);
      if (node.status === 'Terminated') this.terminated.add(node.nodeId);
    }
    for (const nodeId of this.acknowledged) {
      if (!snapshot.nodes.has(nodeId) && !this.deletedWithItsInstance(nodeId)) problems.push(`node ${nodeId} was answered registered and is not in the store`);
      this.acknowledged.delete(nodeId);
    }
    return problems;
  }

  /** A node leaves the store only with its instance (DELETE, allowed once no node of it is Active). */
  private deletedWithItsInstance(nodeId: string): boolean {
    const instanceId = this.instanceOfNode.get(nodeId);
    // Registered and gone between two checks: only an instance deletion meanwhile explains it.
    return instanceId === undefined ? this.deletionSinceCheck : this.deletedInstances.has(instanceId);
  }

  private apiProblems(views: ClusterView[]): string[] {
    return views.flatMap((view) =>
      view.activeNodes.flatMap((node) => {
        if (node.status !== 'Active') return [`cluster_GetDetails of ${view.counts.name} lists ${node.nodeId} as ${node.status} without includeTerminated`];
        return this.terminated.has(node.nodeId) ? [`cluster_GetDetails lists the Terminated node ${node.nodeId} as Active`] : [];
      }),
    );
  }
}

function sameNodes(before: StoreSnapshot, after: StoreSnapshot): boolean {
  if (before.nodes.size !== after.nodes.size) return false;
  for (const [nodeId, node] of before.nodes) if (after.nodes.get(nodeId)?.status !== node.status) return false;
  return true;
}

/**
 * The counts that must agree, per cluster:
 * - the store's Active nodes = cluster_GetDetails's nodes (it lists exactly the Active ones) =
 *   the clusters API's running_nodes_count (instances with an Active node: equal only because
 *   an instance has at most one);
 * - the clusters API's nodes_count (its instances) = the instances API's count for the cluster,
 *   disabled_nodes_count = its count of enabled=false, failed_to_install_nodes_count = its count
 *   of node_state=provision-fail;
 * - the instances API's node_state=ready (an Active node, enabled, no failing check) is at most
 *   running_nodes_count (not equal: a disabled or failing instance with an Active node is not
 *   ready; deprovisioning is no better, an admin may set it on an instance never registered).
 */
function countProblems(snapshot: StoreSnapshot, views: ClusterView[]): string[] {
  const problems: string[] = [];
  const differ = (what: string, left: number, right: number) => left !== right && problems.push(`${what}: ${left} vs ${right}`);
  for (const view of views) {
    const { counts } = view;
    const storeActive = [...snapshot.nodes.values()].filter((node) => node.status === 'Active' && String(node.clusterId) === counts.id).length;
    const name = JSON.stringify(counts.name);
    differ(`cluster ${name}: Active nodes in the store vs cluster_GetDetails`, storeActive, view.activeNodes.length);
    differ(`cluster ${name}: Active nodes in the store vs running_nodes_count`, storeActive, counts.running_nodes_count);
    differ(`cluster ${name}: nodes_count vs the instances API's count`, counts.nodes_count, view.instances);
    differ(`cluster ${name}: disabled_nodes_count vs instances with enabled=false`, counts.disabled_nodes_count, view.disabled);
    differ(`cluster ${name}: failed_to_install_nodes_count vs instances in provision-fail`, counts.failed_to_install_nodes_count, view.failedToInstall);
    if (view.ready > counts.running_nodes_count) problems.push(`cluster ${name}: ${view.ready} instances ready, but running_nodes_count ${counts.running_nodes_count}`);
  }
  return problems;
}
