import type { MonitorEventRecord, Store } from '../store/store.ts';

/** Seed 004's retention: at most 1000 events, none older than 72 h, the latest never deleted. */
export const MAX_EVENTS = 1000;
export const MAX_EVENT_AGE_MS = 72 * 3600 * 1000;

/** Deletes what retention no longer keeps at `now`; returns how many events went. */
export function applyRetention(store: Store, now: number): Promise<number> {
  return store.pruneEvents(MAX_EVENTS, now - MAX_EVENT_AGE_MS);
}

/** Whether retention keeps `event` at `now`, given the newest event: the newest always, any other while under 72 h old. */
export function isRetained(event: MonitorEventRecord, newest: MonitorEventRecord | undefined, now: number): boolean {
  return event.recordedAt >= now - MAX_EVENT_AGE_MS || event.id === newest?.id;
}

/**
 * The events retention keeps at `now`, from at most MAX_EVENTS of the newest (newest first), so
 * that an expired event is never served, even before the next check has pruned it.
 */
export function retainedEvents(newestFirst: readonly MonitorEventRecord[], now: number): MonitorEventRecord[] {
  return newestFirst.slice(0, MAX_EVENTS).filter((event) => isRetained(event, newestFirst[0], now));
}
