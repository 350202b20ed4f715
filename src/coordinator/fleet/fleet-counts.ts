import type { Logger } from '../../shared/logger.ts';
import type { HealthReport, Labels, NodeFacts, TerminationReason } from '../../shared/protocol.ts';
import { type Clock, systemClock } from '../../shared/clock.ts';
import type { InstanceFilter, InstanceRecord, InstanceTally, MaintenanceEntry, Store } from '../store/store.ts';
import type { FleetScan } from './fleet-scan.ts';
import { scanFleet } from './fleet-scan.ts';
import { type FleetSnapshot, summaryAt } from './fleet-snapshot.ts';
import { FleetTable } from './fleet-table.ts';
import {
  FLAG,
  addToTally,
  adminFlags,
  criticalFlag,
  emptyTally,
  figuresOf,
  nodeFlags,
  regionOf,
  summaryOf,
  withAdminFlags,
  withNodeFlags,
} from './instance-summary.ts';

export interface FleetCountsDeps {
  store: Store;
  logger: Logger;
  /** How often the counts are checked against the store, which also brings in other replicas' changes. */
  reconcileMs: number;
  /** The instance of a node this replica knows, without asking the store. */
  knownInstanceOf: (nodeId: string) => number | undefined;
  /** A scan of the store's fleet (tests replace it); a worker thread on a SQLite file. */
  scan?: (store: Store) => FleetScan;
  /** Whether an instance is in maintenance now; the system clock by default. */
  clock?: Clock;
}

/** Instances merged from a scan per turn of the event loop. */
const MERGE_SLICE = 10_000;

/**
 * Every fleet count the cluster monitor and the operator APIs report, kept in memory: loaded from
 * the store once at start, then updated by each registration, termination, health report and
 * instance edit this replica makes, so no request and no timer counts the fleet in the store.
 *
 * Reconciling: every `reconcileMs` the whole fleet is read again off the event loop (a worker
 * thread on SQLite, asynchronous queries on PostgreSQL) and merged in slices. An instance this
 * replica changed after the scan began keeps its in-memory state (the scan may predate the
 * change); every other instance takes the store's. Alone on its store the two always agree, so
 * the counts are exact; beside other replicas, their changes arrive with the next scan.
 */
export class FleetCounts {
  readonly name = 'fleet counts';
  private readonly table = new FleetTable();
  private timer: NodeJS.Timeout | undefined;
  private scan: FleetScan | undefined;
  private reconciling: Promise<number> | undefined;
  /**
   * Instances in maintenance (few), by id: their share of the counts that judge the fleet's health
   * (expected, Active and enabled, timed out, failing) is left out while their window lasts, so a
   * planned silence never makes the runner Unhealthy. Read from the store at each reconcile,
   * kept in step with this replica's own edits.
   */
  private maintenance = new Map<number, MaintenanceEntry>();
  /** Edits of maintenance windows made here, numbered: a reload that began before one keeps it. */
  private maintenanceEdits = 0;
  private readonly maintenanceEditedAt = new Map<number, number>();

  constructor(private readonly deps: FleetCountsDeps) {}

  private now(): number {
    return (this.deps.clock ?? systemClock).now();
  }

  /** Loads the counts from the store and starts reconciling. */
  async start(): Promise<void> {
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcileLogged(), this.deps.reconcileMs);
    this.timer.unref();
  }

  /** A scheduled reconcile: a correction means another replica changed the fleet (or this one missed a change), so it is logged. */
  private async reconcileLogged(): Promise<void> {
    try {
      const corrected = await this.reconcile();
      if (corrected > 0) this.deps.logger.info('fleet counts reconciled with the store', { instancesCorrected: corrected });
    } catch (error) {
      this.deps.logger.error('reconciling the fleet counts failed', { error });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.scan?.cancel();
    await this.reconciling?.catch(() => undefined);
  }

  /** Reads the fleet from the store and merges it in; resolves with how many instances were corrected. One at a time. */
  reconcile(): Promise<number> {
    this.reconciling ??= this.scanAndMerge().finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  private async scanAndMerge(): Promise<number> {
    await this.reloadMaintenance();
    const since = this.table.stamp;
    this.scan = (this.deps.scan ?? scanFleet)(this.deps.store);
    let snapshot: FleetSnapshot;
    try {
      snapshot = await this.scan.result;
    } finally {
      this.scan = undefined;
    }
    return this.merge(snapshot, since);
  }

  /** The instances in maintenance as the store holds them, but those edited here meanwhile as edited. */
  private async reloadMaintenance(): Promise<void> {
    const since = this.maintenanceEdits;
    const loaded = new Map((await this.deps.store.instancesInMaintenance(this.now())).map((entry) => [entry.instanceId, entry]));
    for (const [id, edit] of this.maintenanceEditedAt) {
      if (edit <= since) {
        this.maintenanceEditedAt.delete(id);
        continue;
      }
      const local = this.maintenance.get(id);
      if (local) loaded.set(id, local);
      else loaded.delete(id);
    }
    this.maintenance = loaded;
  }

  private noteMaintenance(instanceId: number, entry: MaintenanceEntry | undefined): void {
    if (entry) this.maintenance.set(instanceId, entry);
    else this.maintenance.delete(instanceId);
    this.maintenanceEditedAt.set(instanceId, ++this.maintenanceEdits);
  }

  /** Adopts the snapshot for every instance unchanged here since `since`, in slices that yield to the event loop. */
  private async merge(snapshot: FleetSnapshot, since: number): Promise<number> {
    const { table } = this;
    let corrected = 0;
    const seen = new Uint8Array(table.idLimit);
    for (let row = 0; row < snapshot.ids.length; row++) {
      if (row > 0 && row % MERGE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      const id = snapshot.ids[row]!;
      if (id < seen.length) seen[id] = 1;
      if (table.stampOf(id) > since) continue;
      if (table.holdsRow(id, snapshot, row)) continue;
      table.adopt(id, summaryAt(snapshot, row));
      corrected += 1;
    }
    if (!snapshot.complete) return corrected;
    for (let id = 1; id < seen.length; id++) {
      if (id % MERGE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      if (seen[id] === 1 || table.stampOf(id) > since || !table.has(id)) continue;
      table.adopt(id, undefined);
      corrected += 1;
    }
    return corrected;
  }

  /** A node registered: the instance runs; its facts (when any) and labels are the registration's. */
  registered(instanceId: number, clusterId: number, report: { facts?: NodeFacts | undefined; labels?: Labels | undefined }): void {
    // A new instance has the columns' defaults: enabled, capacity_adjustment 1.00, an execution node.
    const known = this.table.get(instanceId) ?? { clusterId, flags: FLAG.enabled, cpu: 0, mem: 0, adjustment: 1, jobs: 0, region: null };
    // The store keeps the instance's facts when a registration sends none (or `{}`).
    const facts = report.facts && Object.keys(report.facts).length > 0 ? figuresOf(report.facts) : {};
    this.table.set(instanceId, {
      ...known,
      ...facts,
      flags: withNodeFlags(known.flags, FLAG.running | FLAG.registered),
      region: regionOf(report.labels ?? {}),
    });
  }

  /** The agent reported facts, health or labels (hard state the store now holds). */
  reported(instanceId: number, report: { facts?: NodeFacts | undefined; health?: HealthReport | undefined; labels?: Labels | undefined }): void {
    const known = this.table.get(instanceId);
    if (!known) return;
    const flags = report.health ? (known.flags & ~FLAG.critical) | criticalFlag(report.health) : known.flags;
    this.table.set(instanceId, {
      ...known,
      ...(report.facts ? figuresOf(report.facts) : {}),
      ...(report.labels ? { region: regionOf(report.labels) } : {}),
      flags,
    });
  }

  /** A node of the instance ended (this replica terminated it, for that reason). */
  terminated(instanceId: number, reason: TerminationReason): void {
    const known = this.table.get(instanceId);
    if (!known) return;
    this.table.set(instanceId, { ...known, flags: withNodeFlags(known.flags, nodeFlags({ status: 'Terminated', terminationReason: reason })) });
  }

  /**
   * The sweeper timed these nodes out. Nodes this replica never saw (silent since a restart) are
   * looked up, so their instances' new state is read back from the store; an instance changed
   * here meanwhile keeps what that change made.
   */
  async timedOut(nodeIds: readonly string[]): Promise<void> {
    const { store } = this.deps;
    const since = this.table.stamp;
    const instanceIds = new Set<number>();
    const unknown: string[] = [];
    // Synchronously, before the caller's directory forgets the nodes.
    for (const nodeId of nodeIds) {
      const instanceId = this.deps.knownInstanceOf(nodeId);
      if (instanceId === undefined) unknown.push(nodeId);
      else instanceIds.add(instanceId);
    }
    for (const nodeId of unknown) {
      const node = await store.getNode(nodeId);
      if (node) instanceIds.add(node.instanceId);
    }
    for (const node of await store.latestNodes([...instanceIds])) {
      const known = this.table.get(node.instanceId);
      if (!known || this.table.stampOf(node.instanceId) > since) continue;
      this.table.set(node.instanceId, { ...known, flags: withNodeFlags(known.flags, nodeFlags(node)) });
    }
  }

  /** An admin created or changed the instance (the record as the store now holds it; its nodes are untouched). */
  instanceWritten(instance: InstanceRecord): void {
    const until = instance.maintenanceUntil;
    this.noteMaintenance(instance.id, until !== null && until > this.now() ? { instanceId: instance.id, clusterId: instance.clusterId, until } : undefined);
    const known = this.table.get(instance.id);
    this.table.set(
      instance.id,
      known
        ? { ...known, adjustment: Number(instance.capacityAdjustment), flags: withAdminFlags(known.flags, adminFlags(instance)) }
        : summaryOf(instance, undefined),
    );
  }

  instanceDeleted(instanceId: number): void {
    this.table.delete(instanceId);
    this.noteMaintenance(instanceId, undefined);
  }

  /** Each cluster's counts (clusters without instances have none), instances in maintenance left out of its health. */
  tallies(): InstanceTally[] {
    return this.withoutMaintenance(this.table.allTallies());
  }

  tallyOf(clusterId: number): InstanceTally | undefined {
    const tally = this.table.tally(clusterId);
    return tally && this.withoutMaintenance([tally])[0];
  }

  /** How many instances are in maintenance now. */
  inMaintenance(): number {
    const now = this.now();
    let count = 0;
    for (const entry of this.maintenance.values()) if (entry.until > now) count += 1;
    return count;
  }

  /**
   * Takes each instance in maintenance now out of the counts that judge health: expected, Active
   * and enabled, timed out, failing. Its window ends by time, with no event: judged at each read,
   * over the few instances in maintenance.
   */
  private withoutMaintenance(tallies: InstanceTally[]): InstanceTally[] {
    if (this.maintenance.size === 0) return tallies;
    const now = this.now();
    const byCluster = new Map(tallies.map((tally) => [tally.clusterId, tally]));
    for (const [id, entry] of this.maintenance) {
      if (entry.until <= now) continue;
      const summary = this.table.get(id);
      const tally = summary && byCluster.get(summary.clusterId);
      if (!summary || !tally) continue;
      const share = emptyTally(summary.clusterId);
      addToTally(share, summary, 1);
      tally.expected -= share.expected;
      tally.runningEnabled -= share.runningEnabled;
      tally.timedOut -= share.timedOut;
      tally.failing -= share.failing;
    }
    return tallies;
  }

  /** The distinct `region` labels the instances of the cluster report. */
  regionLabels(clusterId: number): string[] {
    return this.table.regionLabels(clusterId);
  }

  /** How many instances match a filter without a hostname (undefined with one: the store answers that). */
  countInstances(filter: InstanceFilter): number | undefined {
    if (filter.hostname !== undefined) return undefined;
    const tallies = filter.clusterIds ? filter.clusterIds.map((id) => this.table.tally(id)) : this.table.allTallies();
    let count = 0;
    for (const tally of tallies) {
      if (!tally) continue;
      count += filter.enabled === undefined ? tally.instances : filter.enabled ? tally.instances - tally.disabled : tally.disabled;
    }
    return count;
  }
}
