import type { Logger } from '../../shared/logger.ts';
import type { TimeoutSettings } from '../config.ts';
import type { HeartbeatFreshness } from '../state/heartbeat-freshness.ts';
import type { Store } from '../store/store.ts';
import type { SafetyHolds } from './safety-holds.ts';
import { type ClusterHold, type ClusterSilence, decideSweep } from './sweep-decision.ts';

/** What a sweep asks about heartbeats: their one owner, HeartbeatFreshness. */
export type HeartbeatSource = Pick<HeartbeatFreshness, 'flush' | 'newestHeartbeat'>;

export interface SweepPassDeps {
  store: Store;
  settings: TimeoutSettings;
  logger: Logger;
  holds: SafetyHolds;
  heartbeats: HeartbeatSource;
  /** Told about every node this pass terminated. */
  onTerminated: (nodeIds: readonly string[]) => void;
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
 * One judgement at `now`: the facts from the store (exact counts of every cluster with an
 * expired node), the decision (sweep-decision.ts, pure), the holds updated, the expired nodes of
 * the clusters let through terminated.
 */
export async function sweepPass(deps: SweepPassDeps, now: number): Promise<SweepOutcome> {
  const { holds, settings } = deps;
  const cutoff = now - settings.timeoutMs;
  holds.noteGraceEnd(now);
  const clusters = now < holds.grace ? [] : await silentClusters(deps, now, cutoff);
  const decision = decideSweep({ now, clusters, settings, graceUntil: holds.grace, guard: holds.guard });
  holds.apply(decision, now);
  const terminated = await terminate(deps, decision.terminate, cutoff, now);
  if (terminated.length > 0) {
    deps.onTerminated(terminated);
    deps.logger.info('timed out silent nodes', { count: terminated.length, nodeIds: terminated.slice(0, 20) });
  }
  const outcome: SweepOutcome = { terminated, holds: holds.view(now).massSilence };
  if (decision.skipped) outcome.skipped = decision.skipped;
  return outcome;
}

/**
 * The exact state of every cluster with an expired node. A pass with nothing expired costs one
 * index lookup; otherwise this replica's heartbeats are written first, so no node that
 * heartbeated counts as silent, and the counts are aggregates, whatever the page size.
 */
async function silentClusters(deps: SweepPassDeps, now: number, cutoff: number): Promise<ClusterSilence[]> {
  const { store, settings, holds } = deps;
  const oldest = await store.oldestActiveHeartbeat();
  if (oldest === null || oldest >= cutoff) return [];
  await deps.heartbeats.flush();
  const silence = await store.silenceByCluster(cutoff, now - settings.overdueAfterMs);
  if (silence.length === 0) return [];
  const ids = silence.map((cluster) => cluster.clusterId);
  const active = await store.countActiveNodes(ids);
  const timedOut = await store.countTimedOut(new Map(ids.map((id) => [id, holds.windowStart(id, now)])));
  return silence.map((cluster) => ({ ...cluster, active: active.get(cluster.clusterId) ?? 0, timedOut: timedOut.get(cluster.clusterId) ?? 0 }));
}

/** One page of each cluster's expired nodes, less those that heartbeated since the counts (still in memory). */
async function terminate(deps: SweepPassDeps, clusterIds: readonly number[], cutoff: number, now: number): Promise<string[]> {
  const terminated: string[] = [];
  for (const clusterId of clusterIds) {
    const expired = (await deps.store.findExpiredNodes(cutoff, deps.pageSize, clusterId)).filter(
      // findExpiredNodes reads Active nodes only.
      (node) => deps.heartbeats.newestHeartbeat({ ...node, status: 'Active' }) < cutoff,
    );
    if (expired.length === 0) continue;
    // A cluster let through after a hold says which: the history shows why its nodes went despite the guard.
    const guard = deps.holds.guard.get(clusterId);
    const context = { decidedBy: deps.replica, hold: guard?.state === 'let-through' ? `mass-silence hold ended: ${guard.why}` : undefined };
    terminated.push(...(await deps.store.terminateExpired(expired.map((node) => node.nodeId), cutoff, now, context)));
  }
  return terminated;
}
