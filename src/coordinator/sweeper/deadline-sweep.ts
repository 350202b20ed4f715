import type { SweepResult } from './sweeper.ts';

/** Deadline sweeps come at most this often: a crowd of deadlines is swept together. */
const DEADLINE_MIN_GAP_MS = 100;

export interface DeadlineInput {
  /** The oldest Active node's last heartbeat in the store; null without Active nodes. */
  oldestHeartbeat: number | null;
  now: number;
  /** The shortest timeout of any cluster: the earliest the oldest node can be due. */
  timeoutMs: number;
  /** The cron schedule's period: a deadline beyond the next tick is the tick's. */
  periodMs: number;
  lastSweep: SweepResult | undefined;
}

/**
 * When a sweep is due at the next node's deadline (the oldest Active heartbeat + timeout), or
 * undefined when the next tick comes first. The ticks alone would find a node up to a whole
 * period after its deadline; healthy nodes' deadlines lie a timeout ahead, so this is due only
 * for silent ones.
 */
export function deadlineSweepAt({ oldestHeartbeat, now, timeoutMs, periodMs, lastSweep }: DeadlineInput): number | undefined {
  if (oldestHeartbeat === null) return undefined;
  const due = oldestHeartbeat + timeoutMs + 1;
  if (due - now >= periodMs) return undefined;
  // A deadline that passed while the sweep ran is swept soon; one the sweep held (grace, a
  // mass-silence hold) is left to the ticks, or this would sweep every few milliseconds.
  if (due <= now && (lastSweep?.skipped !== undefined || (lastSweep?.holds.length ?? 0) > 0)) return undefined;
  // Already due when the last sweep judged, yet it terminated nothing: the oldest node is not due by
  // its own cluster's (longer) timeout; the ticks find it when it is.
  if (due <= now && lastSweep?.judgedAt !== undefined && due <= lastSweep.judgedAt && lastSweep.terminated.length === 0) return undefined;
  return Math.max(due, now, (lastSweep?.finishedAt ?? 0) + DEADLINE_MIN_GAP_MS);
}
