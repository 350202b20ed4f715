import type { Clock } from '../shared/clock.ts';
import { ApiError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type {
  AgentContinuity,
  ClusterNode,
  DeregisterRequest,
  HeartbeatRequest,
  HeartbeatResponse,
  RegisterNodeRequest,
  RegisterNodeResponse,
} from '../shared/protocol.ts';
import { toRfc3339 } from '../shared/clock.ts';
import { invalidNodeToken } from './auth/authenticator.ts';
import type { Principal } from './auth/principal.ts';
import { hashToken, newNodeToken } from './auth/tokens.ts';
import { type TimeoutSettings, settingsOfCluster } from './config.ts';
import type { FleetCounts } from './fleet/fleet-counts.ts';
import type { ProtocolMetrics } from './metrics/protocol-metrics.ts';
import { instanceUuidOf } from './name-based-uuid.ts';
import type { AgentReports } from './state/agent-reports.ts';
import type { HeartbeatFreshness } from './state/heartbeat-freshness.ts';
import type { NodeDirectory, NodeEntry } from './state/node-directory.ts';
import type { NodeRecord, RegisterNodeResult, Store } from './store/store.ts';
import type { AgentContinuity as ContinuityRecord } from './store/transitions.ts';

export const DEFAULT_CLUSTER = 'default';

export interface NodeServiceDeps {
  store: Store;
  clock: Clock;
  settings: TimeoutSettings;
  directory: NodeDirectory;
  heartbeats: HeartbeatFreshness;
  /** The agents' own condition (event-loop stalls, RSS) from their heartbeats. */
  agentReports: AgentReports;
  logger: Logger;
  /** Whether the instance has a health check waiting for its agent. */
  healthCheckPending: (instanceId: number) => boolean;
  /** Told when an instance's agent reported its health checks. */
  onHealthReport?: ((instanceId: number) => void) | undefined;
  /** The fleet's counts, told of every registration, report and deregistration. */
  fleet: Pick<FleetCounts, 'registered' | 'reported' | 'terminated'>;
  /** This replica's name, recorded with the transitions it decides. */
  replica?: string | undefined;
  /** Told after every change that may have added to the transitions log (the watch streams read it at once). */
  onTransition?: (() => void) | undefined;
  /** Counts registrations, heartbeats and terminations for /metrics. */
  metrics: Pick<ProtocolMetrics, 'registered' | 'heartbeatAccepted' | 'heartbeatRefused' | 'terminated'>;
}

/** The agent protocol of seed 000: register, heartbeat, deregister, and the cluster's node list. */
export class NodeService {
  /** Cluster ids by name and names by id: a cluster is never renamed or removed, so each is looked up once. */
  private readonly clusterIds = new Map<string, number>();
  private readonly clusterNames = new Map<number, string>();

  constructor(private readonly deps: NodeServiceDeps) {}

  /** The id of the cluster of that name, created on first use (by a registration, or an enroll JWT naming it). */
  async clusterId(name: string, now: number): Promise<number> {
    const known = this.clusterIds.get(name);
    if (known !== undefined) return known;
    const { id } = await this.deps.store.ensureCluster(name, now);
    this.clusterIds.set(name, id);
    this.clusterNames.set(id, name);
    return id;
  }

  private async clusterName(id: number): Promise<string | undefined> {
    const known = this.clusterNames.get(id);
    if (known !== undefined) return known;
    const cluster = await this.deps.store.findClusterById(id);
    if (cluster) this.clusterNames.set(id, cluster.name);
    return cluster?.name;
  }

  /** `address`: the client's, recorded in the instance's history. */
  async register(principal: Principal, request: RegisterNodeRequest, address?: string): Promise<RegisterNodeResponse> {
    const { store, clock } = this.deps;
    const clusterName = await this.clusterForRegistration(principal, request.cluster);
    // Devices on flaky links and servers in a rack: each cluster may have its own interval and timeout.
    const settings = settingsOfCluster(this.deps.settings, clusterName);
    const now = clock.now();
    const clusterId = await this.clusterId(clusterName, now);
    const { nodeId, token } = newNodeToken();
    const tokenHash = hashToken(token);
    // A client that sends only seed 000's `name` gets one instance per name.
    const hostname = request.hostname ?? request.facts?.hostname ?? request.name ?? `node-${nodeId.slice(0, 8)}`;
    // The store judges "still heartbeating" by what it holds (plan-registration.ts): write the
    // heartbeats held here first, so a node still heartbeating through this replica is not
    // superseded. One batch, shared by every registration waiting meanwhile.
    await this.deps.heartbeats.flush();
    const result = await store.registerNode({
      clusterId,
      identity: request.identity === undefined ? undefined : instanceUuidOf(request.identity),
      hostname,
      name: request.name,
      bootId: request.bootId,
      labels: request.labels,
      facts: request.facts,
      nodeId,
      tokenHash,
      now,
      duplicateSince: now - settings.duplicateWindowMs,
      address,
      agent: request.continuity && continuityAt(request.continuity, now),
      replica: this.deps.replica,
    });
    this.deps.onTransition?.();
    this.deps.metrics.registered(result);
    if (result.outcome !== 'registered') throw registrationRefused(result, clusterName);
    if (result.supersededNodeId) this.deps.directory.markTerminated(result.supersededNodeId);
    this.deps.directory.add({ nodeId, clusterId, instanceId: result.instanceId, tokenHash, active: true });
    this.deps.fleet.registered(result.instanceId, clusterId, request);
    this.deps.logger.info('node registered', {
      nodeId,
      cluster: clusterName,
      hostname,
      instanceId: result.instanceId,
      supersededNodeId: result.supersededNodeId ?? undefined,
    });
    return { nodeId, nodeToken: token, heartbeatIntervalSecs: settings.intervalMs / 1000, retryMaxDelaySecs: settings.agentRetryMaxDelayMs / 1000 };
  }

  private async clusterForRegistration(principal: Principal, requested: string | undefined): Promise<string> {
    if (principal.kind !== 'operator') throw new ApiError('Forbidden', 'A node token cannot register nodes; use an enroll token');
    if (principal.role === 'admin') return requested ?? DEFAULT_CLUSTER;
    const own = principal.clusterId === null ? undefined : await this.clusterName(principal.clusterId);
    if (own === undefined) throw new ApiError('Forbidden', 'This enroll token has no cluster');
    if (requested !== undefined && requested !== own) {
      throw new ApiError('Forbidden', `This enroll token registers into cluster ${own}, not ${requested}`, { cluster: requested });
    }
    return own;
  }

  /** The node a node token may act as; refuses another node's id, answers 401/410 as the protocol says. */
  private async actingNode(principal: Principal, claimedNodeId: string | undefined): Promise<NodeEntry> {
    const node = actingAs(principal, claimedNodeId);
    return this.knownActive(node) ?? activeEntry(await this.deps.directory.get(node.nodeId), node);
  }

  /** The node's entry when this replica knows it Active (no store query); undefined when the store must be asked. */
  private knownActive(node: NodePrincipal): NodeEntry | undefined {
    const known = this.deps.directory.peek(node.nodeId);
    return known?.active ? known : undefined;
  }

  /**
   * A heartbeat of a node this replica knows is answered synchronously (no promise, no query):
   * the hot path of a fleet. Reports (facts, health, labels) are hard state and wait for the store.
   */
  heartbeat(principal: Principal, request: HeartbeatRequest): HeartbeatResponse | Promise<HeartbeatResponse> {
    const known = this.knownActive(actingAs(principal, request.nodeId));
    if (known) return this.beat(known, request);
    return this.actingNode(principal, request.nodeId).then(
      (entry) => this.beat(entry, request),
      (error: unknown) => {
        this.countRefusal(error);
        throw error;
      },
    );
  }

  /** A heartbeat refused after its token was checked: its node is Terminated (410), or gone meanwhile (401). */
  private countRefusal(error: unknown): void {
    if (!(error instanceof ApiError)) return;
    if (error.code === 'NodeTerminated') this.deps.metrics.heartbeatRefused('terminated');
    else if (error.code === 'Unauthorized') this.deps.metrics.heartbeatRefused('unknown_node');
  }

  private beat(entry: NodeEntry, request: HeartbeatRequest): HeartbeatResponse | Promise<HeartbeatResponse> {
    const now = this.deps.clock.now();
    this.deps.heartbeats.record(entry.nodeId, now);
    this.deps.metrics.heartbeatAccepted();
    if (request.agent) this.deps.agentReports.record(entry.instanceId, request.agent, now);
    const answer = (): HeartbeatResponse => {
      if (request.health) this.deps.onHealthReport?.(entry.instanceId);
      const response: HeartbeatResponse = {};
      if (this.deps.healthCheckPending(entry.instanceId) && !request.health) response.healthCheckRequested = true;
      return response;
    };
    if (!request.facts && !request.health && !request.labels) return answer();
    return this.deps.store
      .recordInstanceReport(entry.instanceId, { facts: request.facts, health: request.health, labels: request.labels, now })
      .then(() => {
        this.deps.fleet.reported(entry.instanceId, request);
        // A health report may have changed the instance's health status, a transition of the log.
        if (request.health) this.deps.onTransition?.();
        return answer();
      });
  }

  async deregister(principal: Principal, request: DeregisterRequest): Promise<void> {
    const entry = await this.actingNode(principal, request.nodeId);
    const reason = request.reason ?? 'Shutdown';
    const terminated = await this.deps.store.terminateNode(entry.nodeId, reason, this.deps.clock.now(), { decidedBy: this.deps.replica });
    this.deps.directory.markTerminated(entry.nodeId);
    if (!terminated) throw new ApiError('NodeTerminated', undefined, { nodeId: entry.nodeId });
    this.deps.onTransition?.();
    this.deps.fleet.terminated(entry.instanceId, reason);
    this.deps.metrics.terminated(reason);
    this.deps.logger.info('node deregistered', { nodeId: entry.nodeId, reason });
  }

  async details(clusterName: string | undefined, includeTerminated: boolean): Promise<ClusterNode[]> {
    const cluster = await this.deps.store.findClusterByName(clusterName ?? DEFAULT_CLUSTER);
    if (!cluster) return [];
    const nodes = await this.deps.store.listNodes(cluster.id, includeTerminated);
    const now = this.deps.clock.now();
    return nodes.map((node) => this.toClusterNode(node, now));
  }

  /** Seed 000's ClusterNode; uptime is derived on read and frozen at termination. */
  toClusterNode(node: NodeRecord, now: number): ClusterNode {
    const lastHeartbeat = this.deps.heartbeats.newestHeartbeat(node);
    const end = node.terminatedAt ?? now;
    const out: ClusterNode = {
      nodeId: node.nodeId,
      status: node.status,
      joinedAt: toRfc3339(node.joinedAt),
      uptimeSecs: Math.max(0, Math.floor((end - node.joinedAt) / 1000)),
      lastHeartbeat: toRfc3339(lastHeartbeat),
    };
    if (node.name !== null) out.name = node.name;
    if (node.terminatedAt !== null) out.terminatedAt = toRfc3339(node.terminatedAt);
    if (node.terminationReason !== null) out.terminationReason = node.terminationReason;
    return out;
  }
}

type NodePrincipal = Extract<Principal, { kind: 'node' }>;

/** The agent's account of itself on the coordinator's clock: its ages are counted back from `now`. */
function continuityAt(report: AgentContinuity, now: number): ContinuityRecord {
  const ago = (secs: number) => Math.round(now - secs * 1000);
  const failed = report.failedAttempts;
  return {
    processId: report.processId,
    processStartedAt: ago(report.processUptimeSecs),
    hostBootedAt: report.hostUptimeSecs === undefined ? undefined : ago(report.hostUptimeSecs),
    failures: failed && {
      count: failed.count,
      firstAt: ago(failed.firstSecsAgo),
      firstError: failed.firstError,
      lastAt: ago(failed.lastSecsAgo),
      lastError: failed.lastError,
    },
  };
}

/** The node a token acts as: only a node token, and only as itself. */
function actingAs(principal: Principal, claimedNodeId: string | undefined): NodePrincipal {
  if (principal.kind !== 'node') throw new ApiError('Forbidden', 'Only a node token may act as a node');
  if (claimedNodeId !== undefined && claimedNodeId !== principal.nodeId) {
    throw new ApiError('Forbidden', 'A node may act only as itself', { nodeId: claimedNodeId });
  }
  return principal;
}

/** 410 for a node the store knows Terminated; one gone since its token was checked is an invalid token like any other. */
function activeEntry(entry: NodeEntry | undefined, node: NodePrincipal): NodeEntry {
  if (!entry) throw invalidNodeToken();
  if (!entry.active) throw new ApiError('NodeTerminated', undefined, { nodeId: node.nodeId });
  return entry;
}

/** The API error of a refused registration, naming what holds the instance and what to do. */
function registrationRefused(result: Exclude<RegisterNodeResult, { outcome: 'registered' }>, clusterName: string): ApiError {
  switch (result.outcome) {
    case 'duplicate':
      return new ApiError('DuplicateIdentity', 'Another host with the same identity (or name) is still heartbeating and this registration is not from its boot (a cloned machine?); give this host its own identity, or retry once the other falls silent', {
        activeNodeId: result.activeNodeId,
        lastHeartbeat: toRfc3339(result.lastHeartbeat),
      });
    case 'hostname-in-use':
      return new ApiError(
        'HostnameInUse',
        `Another agent (identity ${result.otherIdentity}) is registered as hostname ${result.hostname} and is still heartbeating (node ${result.activeNodeId}): ` +
          'two agents on one host would evict each other. Give this one its own hostname (an agent: its hostname setting, --hostname or NODEPULSE_HOSTNAME; ' +
          "a client without an identity: its own name), or, if it is meant to be that agent, run only one of them, with that agent's state directory",
        { otherIdentity: result.otherIdentity, hostname: result.hostname, activeNodeId: result.activeNodeId, lastHeartbeat: toRfc3339(result.lastHeartbeat) },
      );
    case 'hostname-taken':
      return new ApiError('HostnameTaken', `Another instance of cluster ${clusterName} already has hostname ${result.hostname}`, { hostname: result.hostname });
  }
}
