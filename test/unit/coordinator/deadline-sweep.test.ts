import { describe, expect, it } from 'vitest';
import { deadlineSweepAt } from '../../../src/coordinator/sweeper/deadline-sweep.ts';
import type { SweepResult } from '../../../src/coordinator/sweeper/sweeper.ts';

const TIMEOUT = 35_000;
const PERIOD = 1_000;
const NOW = 100_000;
const swept = (overrides: Partial<SweepResult> = {}): SweepResult => ({ terminated: [], holds: [], durationMs: 5, finishedAt: NOW - 500, ...overrides });
const at = (oldestHeartbeat: number | null, lastSweep: SweepResult | undefined = swept()) =>
  deadlineSweepAt({ oldestHeartbeat, now: NOW, timeoutMs: TIMEOUT, periodMs: PERIOD, lastSweep });

describe('the sweep at the next deadline', () => {
  it('is due just past the oldest heartbeat plus the timeout, when that comes before the next tick', () => {
    expect(at(NOW - TIMEOUT + 300)).toBe(NOW + 301);
  });

  it('is left to the ticks when the deadline is a period or more away, or no node is Active', () => {
    expect(at(NOW - TIMEOUT + PERIOD)).toBeUndefined();
    expect(at(null)).toBeUndefined();
  });

  it('sweeps a deadline that passed during the sweep soon, but not sooner than a short gap after it', () => {
    expect(at(NOW - TIMEOUT - 50, swept({ finishedAt: NOW - 20 }))).toBe(NOW + 80);
    expect(at(NOW - TIMEOUT - 50, swept({ finishedAt: NOW - 500 }))).toBe(NOW);
  });

  it('leaves a past deadline that the last sweep held (grace, mass-silence hold) to the ticks', () => {
    expect(at(NOW - TIMEOUT - 50, swept({ skipped: 'grace' }))).toBeUndefined();
    const hold = { clusterId: 1, silent: 8, active: 10, timedOut: 0, since: NOW - 1_000 };
    expect(at(NOW - TIMEOUT - 50, swept({ holds: [hold] }))).toBeUndefined();
  });
});
