export interface FailureLimiterOptions {
  /** Failed authentications an address may have per window before it is throttled. */
  limit: number;
  windowMs: number;
  /** Addresses remembered at most: the oldest windows give way first, so memory stays bounded. */
  maxAddresses: number;
}

/** What the limiter says about an address: go ahead, or wait (and whether to log that, once per window). */
export type FailureVerdict = { throttled: false } | { throttled: true; retryAfterSecs: number; failures: number; firstInWindow: boolean };

interface Window {
  startedAt: number;
  failures: number;
  /** Whether this window's throttling was already reported (one log line per address and window). */
  reported: boolean;
}

const ALLOWED: FailureVerdict = { throttled: false };

/**
 * Counts failed authentications per client address in fixed windows; past the limit, the address
 * is throttled until its window ends. Pure: time comes in as `now`. The map keeps insertion order
 * equal to window start (a new window is re-inserted at the end), so expired windows are always
 * at the front: they are dropped as they are met, and a full table gives up its oldest window,
 * both in constant time, whatever an attacker cycling through addresses does.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly options: FailureLimiterOptions) {}

  /** Whether a request from `address` may be authenticated now. Costs one map lookup. */
  check(address: string, now: number): FailureVerdict {
    const window = this.windows.get(address);
    if (!window || window.failures < this.options.limit) return ALLOWED;
    const endsAt = window.startedAt + this.options.windowMs;
    if (now >= endsAt) return ALLOWED;
    const firstInWindow = !window.reported;
    window.reported = true;
    return { throttled: true, retryAfterSecs: Math.max(1, Math.ceil((endsAt - now) / 1000)), failures: window.failures, firstInWindow };
  }

  /** Counts one failed authentication of `address`. */
  recordFailure(address: string, now: number): void {
    this.dropExpired(now);
    const window = this.windows.get(address);
    if (window && now < window.startedAt + this.options.windowMs) {
      window.failures++;
      return;
    }
    if (window) this.windows.delete(address);
    else if (this.windows.size >= this.options.maxAddresses) this.dropOldest();
    this.windows.set(address, { startedAt: now, failures: 1, reported: false });
  }

  /** Addresses currently remembered. */
  get size(): number {
    return this.windows.size;
  }

  private dropExpired(now: number): void {
    for (const [address, window] of this.windows) {
      if (now < window.startedAt + this.options.windowMs) return;
      this.windows.delete(address);
    }
  }

  private dropOldest(): void {
    const oldest = this.windows.keys().next();
    if (!oldest.done) this.windows.delete(oldest.value);
  }
}
