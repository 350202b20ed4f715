import type { HealthReport, Labels, NodeFacts } from '../../shared/protocol.ts';
import type { InstanceRecord, InstanceSummaryRow, InstanceTally, NodeRecord } from '../store/store.ts';

/**
 * What one instance adds to its cluster's counts, in a few numbers: the inputs of the store's
 * tally (store/instance-tally.ts), whose definitions these follow and which the tests compare
 * them with.
 */
export interface InstanceSummary {
  clusterId: number;
  flags: number;
  cpu: number;
  mem: number;
  /** capacity_adjustment as a number (0..1). */
  adjustment: number;
  jobs: number;
  /** The agent's `region` label; null without one. */
  region: string | null;
}

export const FLAG = {
  enabled: 1,
  /** Has an Active node. */
  running: 2,
  /** Has a node at all (registered at least once). */
  registered: 4,
  /** Its newest node ended by HeartbeatTimeout (counts only while not running). */
  lastTimedOut: 8,
  critical: 16,
  hop: 32,
  provisionFail: 64,
} as const;

const ADMIN_FLAGS = FLAG.enabled | FLAG.critical | FLAG.hop | FLAG.provisionFail;
const NODE_FLAGS = FLAG.running | FLAG.registered | FLAG.lastTimedOut;

/** The flags an instance's own columns decide (enabled, health, node type and state). */
export function adminFlags(instance: Pick<InstanceRecord, 'enabled' | 'nodeType' | 'nodeState' | 'healthStatus'>): number {
  return (
    (instance.enabled ? FLAG.enabled : 0) |
    (instance.healthStatus === 'critical' ? FLAG.critical : 0) |
    (instance.nodeType === 'hop' ? FLAG.hop : 0) |
    (instance.nodeState === 'provision-fail' ? FLAG.provisionFail : 0)
  );
}

/** The flags its newest node decides: its Active node, else its newest node, else none. */
export function nodeFlags(latest: { status: string; terminationReason: string | null } | undefined): number {
  if (!latest) return 0;
  if (latest.status === 'Active') return FLAG.running | FLAG.registered;
  return FLAG.registered | (latest.terminationReason === 'HeartbeatTimeout' ? FLAG.lastTimedOut : 0);
}

export const withAdminFlags = (flags: number, admin: number) => (flags & NODE_FLAGS) | admin;
export const withNodeFlags = (flags: number, node: number) => (flags & ADMIN_FLAGS) | node;

/** The figure columns the store keeps in step with the facts (migration 3): absent is 0. */
export function figuresOf(facts: NodeFacts): Pick<InstanceSummary, 'cpu' | 'mem' | 'jobs'> {
  return { cpu: facts.capacity?.cpuCapacity ?? 0, mem: facts.capacity?.memCapacity ?? 0, jobs: facts.jobsRunning ?? 0 };
}

export const regionOf = (labels: Labels): string | null => (labels.region ? labels.region : null);

export function criticalFlag(health: HealthReport): number {
  return health.status === 'critical' ? FLAG.critical : 0;
}

/** An instance as the store's summary query reads it (store/instance-tally.ts). */
export function summaryFromRow(row: InstanceSummaryRow): InstanceSummary {
  // No Active node and no node at all: lastReason is NULL; a newest node without a reason: ''.
  const latest = row.running ? { status: 'Active', terminationReason: null } : row.lastReason === null ? undefined : { status: 'Terminated', terminationReason: row.lastReason || null };
  const admin = { enabled: Number(row.enabled) === 1, nodeType: row.nodeType, nodeState: row.nodeState, healthStatus: row.healthStatus as InstanceRecord['healthStatus'] };
  return {
    clusterId: Number(row.clusterId),
    flags: adminFlags(admin) | nodeFlags(latest),
    cpu: Number(row.cpu),
    mem: Number(row.mem),
    adjustment: Number(row.adjustment),
    jobs: Number(row.jobs),
    region: row.region ? row.region : null,
  };
}

/** An instance as the store holds it, with its Active node or else its newest node. */
export function summaryOf(instance: InstanceRecord, latest: NodeRecord | undefined): InstanceSummary {
  return {
    clusterId: instance.clusterId,
    flags: adminFlags(instance) | nodeFlags(latest),
    ...figuresOf(instance.facts),
    adjustment: Number(instance.capacityAdjustment),
    region: regionOf(instance.labels),
  };
}

export const emptyTally = (clusterId: number): InstanceTally => ({
  clusterId,
  instances: 0,
  running: 0,
  runningEnabled: 0,
  expected: 0,
  timedOut: 0,
  failing: 0,
  disabled: 0,
  failedToInstall: 0,
  capacity: 0,
  consumed: 0,
});

/** AWX's capacity of a running instance (instance-view.ts's capacityOf, on the summary). */
function capacityOf(summary: InstanceSummary): number {
  const lower = Math.min(summary.cpu, summary.mem);
  const higher = Math.max(summary.cpu, summary.mem);
  return Math.floor(lower + (higher - lower) * summary.adjustment);
}

/** Adds (sign 1) or takes away (sign -1) one instance's share of its cluster's tally. */
export function addToTally(tally: InstanceTally, summary: InstanceSummary, sign: 1 | -1): void {
  const has = (flag: number) => (summary.flags & flag) !== 0;
  const running = has(FLAG.running);
  const enabled = has(FLAG.enabled);
  const timedOut = !running && has(FLAG.lastTimedOut);
  const count = (condition: boolean) => (condition ? sign : 0);
  tally.instances += sign;
  tally.running += count(running);
  tally.runningEnabled += count(running && enabled);
  tally.expected += count(enabled && (running || timedOut));
  tally.timedOut += count(timedOut);
  tally.failing += count(running && has(FLAG.critical));
  tally.disabled += count(!enabled);
  tally.failedToInstall += count(!running && !has(FLAG.registered) && has(FLAG.provisionFail));
  if (running && !has(FLAG.hop) && !has(FLAG.critical)) tally.capacity += sign * capacityOf(summary);
  if (running) tally.consumed += sign * summary.jobs;
}
