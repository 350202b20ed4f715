import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { TimeoutSettings } from '../config.ts';
import type { HeartbeatFreshness } from '../state/heartbeat-freshness.ts';
import type { Store } from '../store/store.ts';
import type { ClusterSettings } from './cluster-settings.ts';
import type { SafetyHolds } from './safety-holds.ts';
import type { SilencePacing } from './silence-pacing.ts';
import { type ClusterHold, type ClusterSilence, decideSweep, isMassSilence } from './sweep-decision.ts';

/** What a sweep asks about heartbeats: their one owner, HeartbeatFreshness. */
export type HeartbeatSource = Pick<HeartbeatFreshness, 'flush' | 'newestHeartbeat'>;

export interface SweepPassDeps {
  store: Store;
  /** When each termination was committed, for its detection delay. */
  clock: Clock;
  settings: TimeoutSettings;
  /** Each cluster's own settings (per-cluster timeouts). */
  clusters: ClusterSettings;
  logger: Logger;
  holds: SafetyHolds;
  /** How often the counts are read again while a hold is in force. */
  pacing: SilencePacing;
  heartbeats: HeartbeatSource;
  /** Told about every node this pass terminated, each with the milliseconds from its deadline to its termination's commit. */
  onTerminated: (nodeIds: readonly string[], detectionDelaysMs: readonly number[]) => void;
  /** Told the event-loop time of each count read (not of one the pacing reused). */
  onSilenceCounted?: ((durationMs: number) => void) | undefined;
  /** Expired nodes terminated per cluster and pass; the guard's counts never depend on it. */
  pageSize: number;
  /** This replica's name, recorded with each termination it decides. */
  replica?: string | undefined;
}

export interface SweepOutcome {
  terminated: string[];
  /** Mass-silence holds in force after the pass. */
  holds: ClusterHold[];
  skipped?: 'grace';
}

/**
 * One judgement at `now`: the facts from the store (the counts of every cluster with an expired
 * node, each by its own timeout, exact wherever a hold is in force or could start, the nodes of
 * instances in maintenance left out of the guard's figures), the decision (sweep-decision.ts,
 * pure), the holds updated, the expired nodes of the clusters let through terminated.
 */
export async function sweepPass(deps: SweepPassDeps, now: number): Promise<SweepOutcome> {
  const { holds, settings } = deps;
  holds.noteGraceEnd(now);
  const graceUntil = holds.graceUntilFor(deps.clusters.shortest);
  const clusters = now < graceUntil ? [] : (deps.pacing.reusable(now, isHolding(holds)) ?? (await silentClusters(deps, now)));
  const decision = decideSweep({ now, clusters, settings, graceUntil, guard: holds.guard });
  holds.apply(decision, now);
  const { terminated, detectionDelaysMs } = await terminate(deps, decision.terminate, now);
  if (terminated.length > 0) {
    deps.onTerminated(terminated, detectionDelaysMs);
    deps.logger.info('timed out silent nodes', { count: terminated.length, nodeIds: terminated.slice(0, 20) });
  }
  const outcome: SweepOutcome = { terminated, holds: holds.view(now).massSilence };
  if (decision.skipped) outcome.skipped = decision.skipped;
  return outcome;
}

/**
 * The state of every cluster with an expired node. A pass with nothing expired (by the shortest
 * timeout) costs one index lookup. Otherwise the counts are read first without writing this
 * replica's buffered heartbeats: a buffered heartbeat only makes its node fresher, so these
 * counts bound each cluster's silence from above, and where they show no mass silence and no
 * cluster is held or let through they decide what exact counts would (no hold; the expired nodes
 * go, less those that heartbeated since, which terminate() finds in memory). A sweep then never
 * waits for a batch write: at a million nodes that wait (0.3-1 s) was most of the detection delay.
 * Where a hold is in force or could start, the heartbeats are written first and the counts read
 * exactly, so no node that heartbeated counts as silent.
 */
async function silentClusters(deps: SweepPassDeps, now: number): Promise<ClusterSilence[]> {
  const oldest = await deps.store.oldestActiveHeartbeat();
  if (oldest === null || oldest >= now - deps.clusters.shortest.timeoutMs) return [];
  const guarded = deps.holds.guard.size > 0;
  if (guarded) await deps.heartbeats.flush();
  let counts = await timedCounts(deps, now);
  if (!guarded && counts.clusters.some((cluster) => isMassSilence(cluster, cluster.settings ?? deps.settings))) {
    await deps.heartbeats.flush();
    const exact = await timedCounts(deps, now);
    counts = { clusters: exact.clusters, costMs: counts.costMs + exact.costMs };
  }
  deps.pacing.counted(now, counts.costMs, counts.clusters);
  return counts.clusters;
}

/** The counts with their cost on the event loop (a flush, the writer's time on SQLite, left out), each read told to onSilenceCounted. */
async function timedCounts(deps: SweepPassDeps, now: number): Promise<{ clusters: ClusterSilence[]; costMs: number }> {
  const started = performance.now();
  const clusters = await countSilence(deps, now);
  const costMs = performance.now() - started;
  deps.onSilenceCounted?.(costMs);
  return { clusters, costMs };
}

/**
 * Each cluster with an expired node, by its own timeout, as aggregates whatever the page size. A
 * cluster with a longer timeout than the shortest is counted again by its own; the nodes of its
 * instances in maintenance (planned silence) count neither as silent nor in its size.
 */
async function countSilence(deps: SweepPassDeps, now: number): Promise<ClusterSilence[]> {
  const { store, holds } = deps;
  const shortest = deps.clusters.shortest;
  const clusters: ClusterSilence[] = [];
  for (const candidate of await store.silenceByCluster(now - shortest.timeoutMs, now - shortest.overdueAfterMs)) {
    const settings = await deps.clusters.of(candidate.clusterId);
    const graceUntil = holds.graceUntilFor(settings);
    if (now < graceUntil) {
      clusters.push({ ...candidate, active: 0, timedOut: 0, settings, graceUntil });
      continue;
    }
    const own =
      settings.timeoutMs === shortest.timeoutMs && settings.overdueAfterMs === shortest.overdueAfterMs
        ? candidate
        : (await store.silenceByCluster(now - settings.timeoutMs, now - settings.overdueAfterMs, candidate.clusterId))[0];
    // Nothing expired by the cluster's own timeout: as if absent (a hold of it ends, its nodes are back).
    if (!own) continue;
    const planned = await store.maintenanceSilence(candidate.clusterId, now, now - settings.overdueAfterMs);
    clusters.push({ ...own, overdue: own.overdue - planned.overdue, active: -planned.active, timedOut: 0, settings, graceUntil });
  }
  const judged = clusters.filter((cluster) => now >= (cluster.graceUntil ?? 0));
  if (judged.length === 0) return clusters;
  const ids = judged.map((cluster) => cluster.clusterId);
  const active = await store.countActiveNodes(ids);
  const timedOut = await store.countTimedOut(new Map(judged.map((cluster) => [cluster.clusterId, holds.windowStart(cluster.clusterId, now, cluster.settings)])));
  for (const cluster of judged) {
    cluster.active += active.get(cluster.clusterId) ?? 0;
    cluster.timedOut = timedOut.get(cluster.clusterId) ?? 0;
  }
  return clusters;
}

function isHolding(holds: SafetyHolds): boolean {
  for (const guard of holds.guard.values()) if (guard.state === 'held') return true;
  return false;
}

/**
 * One page of each cluster's expired nodes (by its own timeout), less those that heartbeated since the counts (still in
 * memory); with each, how long after its deadline (its newest heartbeat plus the timeout) its
 * termination was committed.
 */
async function terminate(deps: SweepPassDeps, clusterIds: readonly number[], now: number): Promise<{ terminated: string[]; detectionDelaysMs: number[] }> {
  const terminated: string[] = [];
  const detectionDelaysMs: number[] = [];
  for (const clusterId of clusterIds) {
    // Each cluster by its own timeout.
    const cutoff = now - (await deps.clusters.of(clusterId)).timeoutMs;
    const newest = new Map<string, number>();
    for (const node of await deps.store.findExpiredNodes(cutoff, deps.pageSize, clusterId)) {
      // findExpiredNodes reads Active nodes only.
      const lastHeartbeat = deps.heartbeats.newestHeartbeat({ ...node, status: 'Active' });
      if (lastHeartbeat < cutoff) newest.set(node.nodeId, lastHeartbeat);
    }
    if (newest.size === 0) continue;
    // A cluster let through after a hold says which: the history shows why its nodes went despite the guard.
    const guard = deps.holds.guard.get(clusterId);
    const context = { decidedBy: deps.replica, hold: guard?.state === 'let-through' ? `mass-silence hold ended: ${guard.why}` : undefined };
    const ended = await deps.store.terminateExpired([...newest.keys()], cutoff, now, context);
    const committedAt = deps.clock.now();
    for (const nodeId of ended) {
      terminated.push(nodeId);
      // The deadline as the transitions log records it: the last heartbeat plus the timeout (now - cutoff).
      detectionDelaysMs.push(committedAt - (newest.get(nodeId)! + now - cutoff));
    }
  }
  return { terminated, detectionDelaysMs };
}
