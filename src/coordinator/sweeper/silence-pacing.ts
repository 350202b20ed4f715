import type { ClusterSilence } from './sweep-decision.ts';

/** The share of the event loop the guard's counts may take while a hold is in force. */
const SHARE_OF_LOOP = 0.1;
/** However slow a count, one stands for no longer than this: a hold's end waits at most so long. */
const MAX_REUSE_MS = 10_000;

/**
 * While a mass-silence hold is in force, the counts behind it are read again no more often than
 * keeps their cost under a tenth of the event loop. With most of a million nodes overdue a count
 * reads every overdue node (0.1-0.3 s), and one on every sweep starved the very heartbeats that
 * end the hold. Between counts a pass judges the last ones: a held cluster stays held (nothing of
 * it is terminated), so the pacing can only delay a hold's end, and a new expiry elsewhere, by
 * ten counts' duration (ten seconds at most). Without a hold every sweep counts, as before.
 */
export class SilencePacing {
  private last: { at: number; costMs: number; clusters: readonly ClusterSilence[] } | undefined;

  /** The last counts when they may stand for a pass at `now`, else undefined (count again). */
  reusable(now: number, holding: boolean): readonly ClusterSilence[] | undefined {
    if (!holding || !this.last) return undefined;
    const standsFor = Math.min(this.last.costMs / SHARE_OF_LOOP, MAX_REUSE_MS);
    return now - this.last.at < standsFor ? this.last.clusters : undefined;
  }

  /** Counts read at `at`, which took `costMs` of the event loop. */
  counted(at: number, costMs: number, clusters: readonly ClusterSilence[]): void {
    this.last = { at, costMs, clusters };
  }
}
