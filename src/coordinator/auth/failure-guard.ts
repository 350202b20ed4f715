import type { Counter } from 'prom-client';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AuthFailureReason } from './authentication-failure.ts';
import type { FailureLimiter } from './failure-limiter.ts';

export interface AuthFailureGuardDeps {
  limiter: FailureLimiter;
  clock: Clock;
  logger: Logger;
  windowSecs: number;
  /** How long a 429 is held before it is sent (0: at once). */
  throttleDelayMs: number;
  /** nodepulse_auth_failures_total{reason} */
  failures: Counter<'reason'>;
  /** nodepulse_auth_throttled_total */
  throttled: Counter;
}

/** 429s held at most at once; past that they go out at once, so pipelined floods cannot pile up timers. */
const MAX_HELD_ANSWERS = 1000;

/**
 * What the coordinator does about failed authentications: counts them by reason, limits them per
 * client address, says so in one log line per address and window (the address and the count,
 * never a token), and holds its 429s a moment. Every answer costs the coordinator a socket write,
 * about what a heartbeat costs; a prober that waits for its answers, as almost every client does,
 * gets one per connection per hold instead of as many as it can send.
 */
export class AuthFailureGuard {
  private held = 0;

  constructor(private readonly deps: AuthFailureGuardDeps) {}

  /** Undefined when `address` may authenticate; else the seconds it must wait (its Retry-After). */
  throttledFor(address: string): number | undefined {
    const verdict = this.deps.limiter.check(address, this.deps.clock.now());
    if (!verdict.throttled) return undefined;
    this.deps.throttled.inc();
    if (verdict.firstInWindow) {
      this.deps.logger.warn('too many failed authentications: requests from this address are answered 429 until its window ends', {
        address,
        failures: verdict.failures,
        windowSecs: this.deps.windowSecs,
        retryAfterSecs: verdict.retryAfterSecs,
      });
    }
    return verdict.retryAfterSecs;
  }

  failed(address: string, reason: AuthFailureReason): void {
    this.deps.failures.inc({ reason });
    this.deps.limiter.recordFailure(address, this.deps.clock.now());
  }

  /** Sends a 429 once the hold is over (at once when it is 0, or when too many are held already). */
  answerThrottled(send: () => void): void {
    if (this.deps.throttleDelayMs === 0 || this.held >= MAX_HELD_ANSWERS) return send();
    this.held++;
    setTimeout(() => {
      this.held--;
      send();
    }, this.deps.throttleDelayMs);
  }
}
