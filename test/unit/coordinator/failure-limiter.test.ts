import { describe, expect, it } from 'vitest';
import { FailureLimiter } from '../../../src/coordinator/auth/failure-limiter.ts';
import { ManualClock } from '../../../src/shared/clock.ts';

const WINDOW_MS = 60_000;

function limiter(limit = 3, maxAddresses = 100) {
  return new FailureLimiter({ limit, windowMs: WINDOW_MS, maxAddresses });
}

describe('failed-authentication limiter', () => {
  it('throttles an address once it has had the limit of failures in its window, until the window ends', () => {
    const clock = new ManualClock();
    const limits = limiter(3);
    for (let i = 0; i < 3; i++) {
      expect(limits.check('10.0.0.1', clock.now())).toEqual({ throttled: false });
      limits.recordFailure('10.0.0.1', clock.now());
      clock.advance(1000);
    }
    // The window began at the first failure, 3 s ago: 57 s are left.
    expect(limits.check('10.0.0.1', clock.now())).toEqual({ throttled: true, retryAfterSecs: 57, failures: 3, firstInWindow: true });
    clock.advance(56_500);
    expect(limits.check('10.0.0.1', clock.now())).toMatchObject({ throttled: true, retryAfterSecs: 1, firstInWindow: false });
    clock.advance(500);
    expect(limits.check('10.0.0.1', clock.now())).toEqual({ throttled: false });
  });

  it('reports the start of throttling once per address and window', () => {
    const clock = new ManualClock();
    const limits = limiter(1);
    limits.recordFailure('10.0.0.1', clock.now());
    const firsts = () => Array.from({ length: 5 }, () => limits.check('10.0.0.1', clock.now())).filter((verdict) => verdict.throttled && verdict.firstInWindow).length;
    expect(firsts()).toBe(1);
    clock.advance(WINDOW_MS);
    limits.recordFailure('10.0.0.1', clock.now());
    expect(firsts()).toBe(1);
  });

  it('keeps each address to its own budget', () => {
    const clock = new ManualClock();
    const limits = limiter(2);
    limits.recordFailure('10.0.0.1', clock.now());
    limits.recordFailure('10.0.0.1', clock.now());
    limits.recordFailure('10.0.0.2', clock.now());
    expect(limits.check('10.0.0.1', clock.now()).throttled).toBe(true);
    expect(limits.check('10.0.0.2', clock.now()).throttled).toBe(false);
    expect(limits.check('10.0.0.3', clock.now()).throttled).toBe(false);
  });

  it('starts a new window, with a fresh budget, after the old one ends', () => {
    const clock = new ManualClock();
    const limits = limiter(2);
    limits.recordFailure('10.0.0.1', clock.now());
    clock.advance(WINDOW_MS);
    limits.recordFailure('10.0.0.1', clock.now());
    expect(limits.check('10.0.0.1', clock.now()).throttled).toBe(false);
    limits.recordFailure('10.0.0.1', clock.now());
    expect(limits.check('10.0.0.1', clock.now())).toMatchObject({ throttled: true, retryAfterSecs: 60 });
  });

  it('remembers at most maxAddresses: an attacker cycling addresses evicts the oldest windows, not the memory bound', () => {
    const clock = new ManualClock();
    const limits = limiter(1, 1000);
    for (let i = 0; i < 100_000; i++) {
      limits.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, clock.now());
      if (i % 100 === 0) clock.advance(1);
    }
    expect(limits.size).toBe(1000);
    // The newest addresses are still throttled; the oldest gave way.
    expect(limits.check('10.1.134.159', clock.now()).throttled).toBe(true);
    expect(limits.check('10.0.0.0', clock.now()).throttled).toBe(false);
  });

  it('forgets addresses whose windows ended', () => {
    const clock = new ManualClock();
    const limits = limiter(1);
    for (let i = 0; i < 50; i++) limits.recordFailure(`10.0.0.${i}`, clock.now());
    clock.advance(WINDOW_MS);
    limits.recordFailure('10.0.1.1', clock.now());
    expect(limits.size).toBe(1);
  });
});
