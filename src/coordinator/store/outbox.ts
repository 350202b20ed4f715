import type { TransitionRecord } from './transitions.ts';

/**
 * The webhook outbox (migration 9), in the store that holds the transitions log: each sink's
 * cursor in the log (the last event id it enqueued) and one row per (sink, event) until it is
 * delivered. Enqueueing and moving the cursor commit together, so a restart resumes where the
 * store says, and a crash between a delivery and its record only delivers that event again.
 * Times are milliseconds on the coordinator's clock.
 */
export interface WebhookOutbox {
  /** The last event id the sink enqueued; null for a sink the store has never seen. */
  cursor(sink: string): Promise<number | null>;
  /** Gives a new sink its cursor (its first event will follow `eventId`); a cursor already there stays. */
  startCursor(sink: string, eventId: number, now: number): Promise<void>;
  /** One transaction: adds these events to the sink's outbox (once each) and moves its cursor up to `cursor` (never back). */
  enqueue(sink: string, eventIds: readonly number[], cursor: number, now: number): Promise<void>;
  /** The sink's oldest undelivered event: the next one to send, in event order. */
  next(sink: string): Promise<OutboxEntry | undefined>;
  delivered(sink: string, eventId: number, now: number): Promise<void>;
  /** Records a failed attempt: how many so far, when to try again, why (never more than a line). */
  failed(sink: string, eventId: number, failure: { attempts: number; nextAttemptAt: number; error: string }): Promise<void>;
  /** Drops an event that can no longer be sent (retention deleted it from the log). */
  discard(sink: string, eventId: number): Promise<void>;
  /** Undelivered events per sink (sinks with none are absent). */
  depth(): Promise<Map<string, number>>;
  /**
   * Deletes at most about `limit` events per sink: those delivered before `deliveredBefore`, and
   * those whose event the transitions log no longer holds. Returns how many rows went.
   */
  prune(deliveredBefore: number, limit: number): Promise<number>;
}

export interface OutboxEntry {
  eventId: number;
  /** Failed attempts so far. */
  attempts: number;
  nextAttemptAt: number;
  /** The event as the log holds it; null when retention deleted it first. */
  transition: TransitionRecord | null;
}
