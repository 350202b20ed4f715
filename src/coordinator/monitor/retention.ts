import type { Store } from '../store/store.ts';

/** Seed 004's retention: at most 1000 events, none older than 72 h, the latest never deleted. */
export const MAX_EVENTS = 1000;
export const MAX_EVENT_AGE_MS = 72 * 3600 * 1000;

export function applyRetention(store: Store, now: number): Promise<number> {
  return store.pruneEvents(MAX_EVENTS, now - MAX_EVENT_AGE_MS);
}
