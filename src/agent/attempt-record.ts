/**
 * What the heartbeat loop's last attempts were (for the agent's status), and, until the first
 * registration, a reminder in the log of when it tries next: the session logs one line per change
 * of state, which leaves an agent that keeps failing the same way silent for minutes.
 */
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import type { BeatRecord } from './agent-status.ts';
import type { BeatOutcome } from './heartbeat-loop.ts';

/** How often an agent not yet registered reminds that it is still trying. */
const WAIT_REMINDER_MS = 20_000;

export class AttemptRecord {
  last: BeatRecord | undefined;
  /** The last registration or heartbeat the coordinator accepted. */
  lastAcceptedAt: number | undefined;
  /** The wait before the next attempt after a failed one, else 0. */
  backoffMs = 0;
  private everRegistered = false;
  private lastReminderAt: number | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(clock: Clock, logger: Logger) {
    this.clock = clock;
    this.logger = logger;
  }

  attempted(kind: BeatRecord['kind'], outcome: BeatOutcome): void {
    const at = this.clock.now();
    this.last = { kind, outcome: outcome.kind, at };
    if (outcome.kind === 'ok') this.lastAcceptedAt = at;
  }

  /** The loop waits `delayMs` after `outcome`; `registered` says whether the agent holds a registration now. */
  waiting(outcome: BeatOutcome, delayMs: number, registered: boolean, failedAttempts: number): void {
    const failed = outcome.kind === 'retry' || outcome.kind === 'slow-retry';
    this.backoffMs = failed ? delayMs : 0;
    if (registered) this.everRegistered = true;
    if (!failed || this.everRegistered) return;
    const now = this.clock.now();
    if (this.lastReminderAt !== undefined && now - this.lastReminderAt < WAIT_REMINDER_MS) return;
    this.lastReminderAt = now;
    this.logger.info('not registered yet; retrying', { failedAttempts, nextAttemptInSecs: Math.round(delayMs / 100) / 10 });
  }
}
