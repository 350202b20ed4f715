import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, nextHeartbeatAt, nextSlot, phaseOffsetMs, retryDelayMs, startupDelayMs } from '../../../src/agent/schedule.ts';

describe('phase offset', () => {
  it('is stable for one node and within the interval', () => {
    const offset = phaseOffsetMs('node-a', 10_000);
    expect(phaseOffsetMs('node-a', 10_000)).toBe(offset);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(10_000);
  });

  it('spreads 1000 nodes over every second of a 10 s interval', () => {
    const perSecond = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i++) {
      const second = Math.floor(phaseOffsetMs(randomUUID(), 10_000) / 1000);
      perSecond[second] = (perSecond[second] ?? 0) + 1;
    }
    expect(Math.min(...perSecond)).toBeGreaterThan(50);
    expect(Math.max(...perSecond)).toBeLessThan(150);
  });
});

describe('next due time', () => {
  it('is the next slot on the node phase, strictly after now', () => {
    expect(nextSlot(12_000, 10_000, 3_000)).toBe(13_000);
    expect(nextSlot(13_000, 10_000, 3_000)).toBe(23_000);
    expect(nextSlot(2_000, 10_000, 3_000)).toBe(3_000);
  });

  it('keeps a gap of at least half an interval between heartbeats', () => {
    expect(nextHeartbeatAt(12_900, 10_000, 3_000)).toBe(23_000);
    expect(nextHeartbeatAt(13_050, 10_000, 3_000)).toBe(23_000);
    expect(nextHeartbeatAt(5_000, 10_000, 3_000)).toBe(13_000);
  });
});

describe('start-up delay', () => {
  it('is the time until the first slot with a bound of one interval or more', () => {
    expect(startupDelayMs(12_000, 10_000, 3_000, 10_000)).toBe(1_000);
    expect(startupDelayMs(12_000, 10_000, 3_000, 60_000)).toBe(1_000);
    expect(startupDelayMs(14_000, 10_000, 3_000, 10_000)).toBe(9_000);
  });

  it('is scaled into a shorter bound, and 0 without one', () => {
    expect(startupDelayMs(14_000, 10_000, 3_000, 5_000)).toBe(4_500);
    expect(startupDelayMs(14_000, 10_000, 3_000, 0)).toBe(0);
  });
});

describe('backoff with full jitter', () => {
  const policy = { baseMs: 500, capMs: 30_000 };

  it('doubles its ceiling per attempt up to the cap', () => {
    const almostOne = () => 0.999999;
    expect(backoffDelayMs(0, policy, almostOne)).toBe(499);
    expect(backoffDelayMs(3, policy, almostOne)).toBe(3_999);
    expect(backoffDelayMs(20, policy, almostOne)).toBe(29_999);
    expect(backoffDelayMs(1000, policy, almostOne)).toBe(29_999);
  });

  it('draws the delay uniformly from zero to the ceiling', () => {
    expect(backoffDelayMs(5, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(5, policy, () => 0.5)).toBe(8_000);
  });

  it('keeps slow retries between half the ceiling and the ceiling with equal jitter', () => {
    const slow = { baseMs: 60_000, capMs: 60_000, jitter: 'equal' as const };
    expect(backoffDelayMs(0, slow, () => 0)).toBe(30_000);
    expect(backoffDelayMs(4, slow, () => 0.999999)).toBe(59_999);
  });
});

describe('retry after a Retry-After', () => {
  it('waits at least what the answer asked for, never less than the backoff', () => {
    expect(retryDelayMs(1_000, 20_000, 60_000)).toBe(20_000);
    expect(retryDelayMs(8_000, 2_000, 60_000)).toBe(8_000);
    expect(retryDelayMs(1_000, undefined, 60_000)).toBe(1_000);
  });

  it('never waits longer than the cap, however long the answer asked for', () => {
    expect(retryDelayMs(1_000, 365 * 86_400_000, 60_000)).toBe(60_000);
  });
});
