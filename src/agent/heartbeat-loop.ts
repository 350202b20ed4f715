/**
 * The runner of the heartbeat loop: it calls an injected `beat` function on the node's phase
 * schedule, backs off on failures and never runs two beats at once. Timing decisions live in
 * schedule.ts; time and timers are injected so tests and the fleet benchmark can run many
 * loops on a fake clock.
 */
import { type Clock, systemClock } from '../shared/clock.ts';
import { type BackoffPolicy, backoffDelayMs, nextHeartbeatAt, phaseOffsetMs, retryDelayMs, startupDelayMs } from './schedule.ts';

/** What one beat achieved, as the loop needs to know it. */
export type BeatOutcome =
  /** Sent (heartbeat or registration): wait for the next slot. */
  | { kind: 'ok' }
  /** Go again at once (e.g. the node was forgotten: register now). */
  | { kind: 'again' }
  /** A transient failure (network, 5xx, 429, an answer not to believe): back off, at least `retryAfterMs` when the answer asked for it. */
  | { kind: 'retry'; retryAfterMs?: number }
  /** A failure that needs an operator (401/403, duplicate identity): back off slowly. */
  | { kind: 'slow-retry' };

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface HeartbeatLoopOptions {
  /** Heartbeat interval; may be changed later with setInterval(). */
  intervalMs: number;
  /** Spreads the fleet: the loop's phase within the interval comes from this key. */
  phaseKey: string;
  /**
   * Upper bound of the wait before the first beat (the registration), which spreads a fleet
   * started at once (schedule.ts startupDelayMs); 0 or absent: beat at once.
   */
  startupDelayMs?: number;
  beat: () => Promise<BeatOutcome>;
  retry: BackoffPolicy;
  slowRetry: BackoffPolicy;
  clock?: Clock;
  timers?: Timers;
  random?: () => number;
  /** Called after every completed beat, whatever its outcome: the loop is alive. */
  onProgress?: (outcome: BeatOutcome) => void;
  /** Called once the next beat is scheduled after a completed one: what happened and how long the loop now waits. */
  onWait?: (outcome: BeatOutcome, delayMs: number) => void;
}

const MAX_IMMEDIATE = 3;

export class HeartbeatLoop {
  private readonly options: HeartbeatLoopOptions;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private intervalMs: number;
  private offsetMs: number;
  private retry: BackoffPolicy;
  private timer: unknown;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private failures = 0;
  private immediate = 0;
  private pendingNow = false;
  private nextAt: number | undefined;

  constructor(options: HeartbeatLoopOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? realTimers;
    this.intervalMs = options.intervalMs;
    this.offsetMs = phaseOffsetMs(options.phaseKey, options.intervalMs);
    this.retry = options.retry;
  }

  /** Starts with a beat (the registration) after the start-up delay, then follows the schedule. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(startupDelayMs(this.clock.now(), this.intervalMs, this.offsetMs, this.options.startupDelayMs ?? 0));
  }

  /** Stops scheduling and waits for a beat in flight to finish. */
  async stop(): Promise<void> {
    this.running = false;
    this.clearTimer();
    this.nextAt = undefined;
    await this.inFlight;
  }

  get interval(): number {
    return this.intervalMs;
  }

  /** When the next beat is due (ms since epoch), for status and tests. */
  get nextBeatAt(): number | undefined {
    return this.nextAt;
  }

  /** Failed beats since the last one that went through. */
  get failureCount(): number {
    return this.failures;
  }

  /** Adopts a new interval (from config or the coordinator) from the next slot on. */
  setInterval(intervalMs: number): void {
    if (intervalMs === this.intervalMs || intervalMs <= 0) return;
    this.intervalMs = intervalMs;
    this.offsetMs = phaseOffsetMs(this.options.phaseKey, intervalMs);
    if (this.running && !this.inFlight && this.failures === 0) {
      this.schedule(Math.max(0, nextHeartbeatAt(this.clock.now(), intervalMs, this.offsetMs) - this.clock.now()));
    }
  }

  /** The longest backoff after a transient failure (the coordinator's grace after its own downtime is built on it). */
  get retryCapMs(): number {
    return this.retry.capMs;
  }

  /** Adopts a new cap of the transient-failure backoff from the next failure on. */
  setRetryCap(capMs: number): void {
    if (capMs > 0) this.retry = { ...this.retry, capMs };
  }

  /** Beats as soon as possible (after the one in flight, if any). */
  beatNow(): void {
    if (!this.running) return;
    if (this.inFlight) this.pendingNow = true;
    else this.schedule(0);
  }

  private schedule(delayMs: number): void {
    this.clearTimer();
    if (!this.running) return;
    this.nextAt = this.clock.now() + delayMs;
    this.timer = this.timers.setTimeout(() => this.fire(), delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    if (!this.running || this.inFlight) return;
    this.inFlight = this.runBeat().finally(() => {
      this.inFlight = undefined;
    });
  }

  private async runBeat(): Promise<void> {
    const startedAt = this.clock.now();
    let outcome: BeatOutcome;
    try {
      outcome = await this.options.beat();
    } catch {
      outcome = { kind: 'retry' };
    }
    this.options.onProgress?.(outcome);
    if (!this.running) return;
    const delay = this.pendingNow ? 0 : this.delayAfter(outcome, startedAt);
    this.pendingNow = false;
    this.schedule(delay);
    this.options.onWait?.(outcome, delay);
  }

  /** The delay before the next beat, given what the last one achieved. */
  private delayAfter(outcome: BeatOutcome, startedAt: number): number {
    const now = this.clock.now();
    const random = this.options.random;
    if (outcome.kind === 'again' && this.immediate < MAX_IMMEDIATE) {
      this.immediate += 1;
      return 0;
    }
    if (outcome.kind === 'ok') {
      this.failures = 0;
      this.immediate = 0;
      return Math.max(0, nextHeartbeatAt(startedAt, this.intervalMs, this.offsetMs) - now);
    }
    const policy = outcome.kind === 'slow-retry' ? this.options.slowRetry : this.retry;
    const backoff = backoffDelayMs(this.failures, policy, random);
    this.failures += 1;
    // A Retry-After is honoured up to the slow retry's cap: the longest wait the loop knows anyway.
    return outcome.kind === 'retry' ? retryDelayMs(backoff, outcome.retryAfterMs, this.options.slowRetry.capMs) : backoff;
  }
}
