import type { TimeoutSettings } from '../config.ts';

/**
 * The sweeper's judgement as a pure function: which clusters' expired nodes are timed out now,
 * and which mass-silence holds start, go on or end. It judges each cluster's state, not one
 * sweep's harvest: agents spread their heartbeats over the interval, so after a network cut the
 * cut nodes expire a few at a time, but every one of them is overdue before the first expires.
 */

/** Exact counts of one cluster with at least one expired node (or a hold in force). */
export interface ClusterSilence {
  clusterId: number;
  /** Active nodes silent longer than the timeout. */
  expired: number;
  /** Active nodes silent longer than `overdueAfterMs` (the expired ones among them). */
  overdue: number;
  /** Active nodes. */
  active: number;
  /** Nodes timed out within the guard's window (see `guardWindowStart`). */
  timedOut: number;
  /** The cluster's own settings (per-cluster timeouts); the input's when absent. */
  settings?: TimeoutSettings | undefined;
  /** The cluster's grace ends then (its own timeout after the coordinator's gap); it is not judged before. */
  graceUntil?: number | undefined;
}

/** A cluster whose terminations are held, with the figures behind the hold. */
export interface ClusterHold {
  clusterId: number;
  /** Overdue plus recently timed-out nodes. */
  silent: number;
  active: number;
  timedOut: number;
  since: number;
  /** When the silent share first fell back under the threshold while held (agents returning from backoff). */
  clearSince?: number | undefined;
  /** The longest this hold may last (10 of the cluster's timeouts by default). */
  maxHoldMs?: number | undefined;
}

/** What the guard remembers of a cluster between sweeps. */
export type ClusterGuard =
  | ({ state: 'held' } & ClusterHold)
  /** A hold that ended with nodes still silent (lifted, run out, settled): its expired nodes go, until none is left. */
  | { state: 'let-through'; clusterId: number; why: LetThroughReason };

export type LetThroughReason = 'lifted' | 'hold-expired' | 'settled';

export interface SweepInput {
  now: number;
  /** Every cluster with an expired node; a held cluster missing here has no silent node left. */
  clusters: readonly ClusterSilence[];
  /** The settings of a cluster that names none of its own. */
  settings: TimeoutSettings;
  /** No node of any cluster is timed out before this time (the shortest grace after the coordinator's own gap). */
  graceUntil: number;
  guard: ReadonlyMap<number, ClusterGuard>;
}

export type HoldEnd = 'nodes-back' | 'settled' | 'hold-expired' | 'drained';

export interface SweepDecision {
  /** Clusters whose expired nodes are timed out now. */
  terminate: number[];
  /** The guard's state for the next sweep. */
  guard: Map<number, ClusterGuard>;
  started: ClusterHold[];
  ended: { clusterId: number; why: HoldEnd }[];
  skipped?: 'grace';
}

/** The silent share of a cluster is over the threshold: its network, not its hosts, is the likelier culprit. */
export function isMassSilence(cluster: ClusterSilence, settings: TimeoutSettings): boolean {
  const { enabled, minNodes, threshold } = settings.massSilence;
  const size = cluster.active + cluster.timedOut;
  return enabled && size >= minNodes && cluster.overdue + cluster.timedOut > threshold * size;
}

/**
 * Where a cluster's window of recent time-outs starts: one timeout back, but never before its
 * last hold ended, so the nodes an operator or the time bound let through are not held again.
 */
export function guardWindowStart(now: number, settings: TimeoutSettings, holdEndedAt: number | undefined): number {
  return Math.max(now - settings.timeoutMs, holdEndedAt ?? -Infinity);
}

export function decideSweep(input: SweepInput): SweepDecision {
  const { now, settings } = input;
  if (now < input.graceUntil) return { terminate: [], guard: new Map(input.guard), started: [], ended: [], skipped: 'grace' };
  const decision: SweepDecision = { terminate: [], guard: new Map(), started: [], ended: [] };
  const seen = new Set<number>();
  for (const cluster of input.clusters) {
    seen.add(cluster.clusterId);
    const previous = input.guard.get(cluster.clusterId);
    // Still in its own grace (a longer timeout than others'): not judged, its guard state kept.
    if (cluster.graceUntil !== undefined && now < cluster.graceUntil) {
      if (previous) decision.guard.set(cluster.clusterId, previous);
      continue;
    }
    judgeCluster(cluster, previous, now, cluster.settings ?? settings, decision);
  }
  for (const [clusterId, previous] of input.guard) {
    if (seen.has(clusterId)) continue;
    decision.ended.push({ clusterId, why: previous.state === 'held' ? 'nodes-back' : 'drained' });
  }
  return decision;
}

function judgeCluster(cluster: ClusterSilence, previous: ClusterGuard | undefined, now: number, settings: TimeoutSettings, decision: SweepDecision): void {
  const { clusterId } = cluster;
  if (cluster.expired === 0) {
    if (previous) decision.ended.push({ clusterId, why: previous.state === 'held' ? 'nodes-back' : 'drained' });
    return;
  }
  if (previous?.state === 'let-through') {
    decision.guard.set(clusterId, previous);
    decision.terminate.push(clusterId);
    return;
  }
  const held = previous?.state === 'held' ? previous : undefined;
  if (held && now - held.since >= settings.massSilence.maxHoldMs) {
    letThrough(clusterId, 'hold-expired', decision);
    return;
  }
  const figures = { clusterId, silent: cluster.overdue + cluster.timedOut, active: cluster.active, timedOut: cluster.timedOut };
  if (isMassSilence(cluster, settings)) {
    const hold: ClusterHold = { ...figures, since: held?.since ?? now, maxHoldMs: settings.massSilence.maxHoldMs };
    decision.guard.set(clusterId, { state: 'held', ...hold });
    if (!held) decision.started.push(hold);
    return;
  }
  if (!held) {
    decision.terminate.push(clusterId);
    return;
  }
  // Back under the threshold while held: agents return from their backoff one by one, so the
  // hold ends only once every agent had its retry (backoff cap plus an interval for its request).
  const clearSince = held.clearSince ?? now;
  if (now - clearSince >= settings.agentRetryMaxDelayMs + settings.intervalMs) {
    letThrough(clusterId, 'settled', decision);
    return;
  }
  decision.guard.set(clusterId, { state: 'held', ...figures, since: held.since, clearSince, maxHoldMs: settings.massSilence.maxHoldMs });
}

function letThrough(clusterId: number, why: 'settled' | 'hold-expired', decision: SweepDecision): void {
  decision.ended.push({ clusterId, why });
  decision.guard.set(clusterId, { state: 'let-through', clusterId, why });
  decision.terminate.push(clusterId);
}
