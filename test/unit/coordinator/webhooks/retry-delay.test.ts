import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../../../src/coordinator/webhooks/retry-delay.ts';

const POLICY = { baseMs: 1000, maxMs: 300_000 };

describe('webhook retry delay', () => {
  it('doubles from the base with each failed attempt, between half and all of the step', () => {
    const lowest = [1, 2, 3, 4, 5].map((attempts) => retryDelayMs(attempts, POLICY, () => 0));
    const highest = [1, 2, 3, 4, 5].map((attempts) => retryDelayMs(attempts, POLICY, () => 0.999_999));
    expect(lowest).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(highest).toEqual([1000, 2000, 4000, 8000, 16_000]);
  });

  it('stops growing at the cap (5 minutes by default), however many attempts failed', () => {
    expect(retryDelayMs(9, POLICY, () => 0.999_999)).toBe(256_000);
    expect(retryDelayMs(10, POLICY, () => 0.999_999)).toBe(300_000);
    expect(retryDelayMs(10_000, POLICY, () => 0.999_999)).toBe(300_000);
    expect(retryDelayMs(10_000, POLICY, () => 0)).toBe(150_000);
  });

  it('spreads sinks that failed together over the upper half of the step', () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(4, POLICY)));
    expect(delays.size).toBeGreaterThan(10);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(4000);
      expect(delay).toBeLessThanOrEqual(8000);
    }
  });
});
