/**
 * Pure timing decisions of the heartbeat loop: the per-node phase offset that spreads a fleet
 * over the interval, the next due time, the delay before registering, and capped exponential
 * backoff with full jitter.
 */
import { createHash } from 'node:crypto';

/** A stable offset in [0, intervalMs) derived from the node's identity (FNV would do; sha256 is at hand). */
export function phaseOffsetMs(key: string, intervalMs: number): number {
  if (intervalMs <= 0) return 0;
  const digest = createHash('sha256').update(key).digest();
  const value = digest.readUInt32BE(0) * 2 ** 16 + digest.readUInt16BE(4);
  return value % Math.floor(intervalMs);
}

/**
 * The first time strictly after `now` that sits on this node's phase: `offset + k × interval`.
 * Slots are aligned to the epoch, so agents started at the same moment still spread out, and a
 * late heartbeat does not push every later one back.
 */
export function nextSlot(now: number, intervalMs: number, offsetMs: number): number {
  const k = Math.floor((now - offsetMs) / intervalMs) + 1;
  return offsetMs + k * intervalMs;
}

/**
 * The next heartbeat time after one was sent at `sentAt`: the next slot, but never sooner than
 * half an interval after the last one (a heartbeat sent just before its slot does not get a
 * second one right away).
 */
export function nextHeartbeatAt(sentAt: number, intervalMs: number, offsetMs: number): number {
  let due = nextSlot(sentAt, intervalMs, offsetMs);
  if (due - sentAt < intervalMs / 2) due += intervalMs;
  return due;
}

/**
 * How long to wait before the first beat (the registration): the time until this node's first
 * slot, scaled into [0, maxDelayMs) when that bound is shorter than the interval. A fleet started
 * at one instant then registers evenly over min(maxDelayMs, interval) instead of in its first
 * second; with the bound at one interval each node registers on its own slot, so the fleet sends
 * one request per node per interval from the start. 0 registers at once.
 */
export function startupDelayMs(now: number, intervalMs: number, offsetMs: number, maxDelayMs: number): number {
  if (!(maxDelayMs > 0) || intervalMs <= 0) return 0;
  const untilSlot = nextSlot(now, intervalMs, offsetMs) - now;
  return Math.floor(untilSlot * Math.min(1, maxDelayMs / intervalMs));
}

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** 'full' (default): uniform in [0, ceiling); 'equal': uniform in [ceiling/2, ceiling), for slow retries. */
  jitter?: 'full' | 'equal';
}

/** Capped exponential backoff with jitter; ceiling = min(cap, base × 2^attempt), attempt from 0. */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  if (policy.jitter === 'equal') return Math.floor(ceiling / 2 + random() * (ceiling / 2));
  return Math.floor(random() * ceiling);
}

/**
 * The wait before retrying after an answer that said how long to wait (Retry-After on a 429 or
 * 503): at least that long, never shorter than the backoff, and never longer than `capMs`, so a
 * hostile or broken server cannot park the agent for a year.
 */
export function retryDelayMs(backoffMs: number, retryAfterMs: number | undefined, capMs: number): number {
  if (retryAfterMs === undefined) return backoffMs;
  return Math.max(backoffMs, Math.min(retryAfterMs, capMs));
}
