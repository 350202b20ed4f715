import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BeatOutcome, HeartbeatLoop } from '../../../src/agent/heartbeat-loop.ts';
import { phaseOffsetMs } from '../../../src/agent/schedule.ts';

const clock = { now: () => Date.now() };
const retry = { baseMs: 1_000, capMs: 8_000 };
const slowRetry = { baseMs: 60_000, capMs: 60_000 };

function makeLoop(beat: () => Promise<BeatOutcome>, intervalMs = 10_000, random = () => 0.999) {
  return new HeartbeatLoop({ intervalMs, phaseKey: 'node-1', beat, retry, slowRetry, clock, random });
}

/** A loop whose first `failures` beats fail (retry), then succeed; `times` records every beat. */
function failingLoop(failures: number) {
  const times: number[] = [];
  let left = failures;
  const loop = makeLoop(async () => {
    times.push(Date.now());
    if (left === 0) return { kind: 'ok' };
    left -= 1;
    return { kind: 'retry' };
  });
  return { loop, times };
}

describe('heartbeat loop', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.UTC(2026, 0, 1));
  });
  afterEach(() => vi.useRealTimers());

  it('beats at once on start, then once per interval on the node phase', async () => {
    const times: number[] = [];
    const loop = makeLoop(async () => {
      times.push(Date.now());
      return { kind: 'ok' };
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(60_000);
    await loop.stop();
    const offset = phaseOffsetMs('node-1', 10_000);
    expect(times[0]).toBe(Date.UTC(2026, 0, 1));
    const later = times.slice(1);
    expect(later.length).toBeGreaterThanOrEqual(5);
    for (const t of later) expect(t % 10_000).toBe(offset);
    for (let i = 1; i < later.length; i++) expect(later[i]! - later[i - 1]!).toBe(10_000);
  });

  it('never runs two beats at once when one hangs, and resumes when it returns', async () => {
    let active = 0;
    let maxActive = 0;
    let release: (() => void) | undefined;
    let calls = 0;
    const loop = makeLoop(async () => {
      calls += 1;
      active += 1;
      maxActive = Math.max(maxActive, active);
      if (calls === 2) await new Promise<void>((resolve) => (release = resolve));
      active -= 1;
      return { kind: 'ok' };
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(45_000);
    expect(calls).toBe(2);
    release?.();
    await vi.advanceTimersByTimeAsync(20_000);
    await loop.stop();
    expect(maxActive).toBe(1);
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it('backs off exponentially on failures up to the cap, then returns to the schedule', async () => {
    const { loop, times } = failingLoop(5);
    loop.start();
    await vi.advanceTimersByTimeAsync(120_000);
    await loop.stop();
    const gaps = times.slice(1, 6).map((t, i) => t - times[i]!);
    expect(gaps).toEqual([999, 1_998, 3_996, 7_992, 7_992]);
    const offset = phaseOffsetMs('node-1', 10_000);
    expect(times.slice(7).every((t) => t % 10_000 === offset)).toBe(true);
  });

  it('adopts the coordinator\'s backoff cap for later failures', async () => {
    const { loop, times } = failingLoop(6);
    loop.setRetryCap(3_000);
    expect(loop.retryCapMs).toBe(3_000);
    loop.start();
    await vi.advanceTimersByTimeAsync(60_000);
    await loop.stop();
    const gaps = times.slice(1, 7).map((t, i) => t - times[i]!);
    expect(gaps).toEqual([999, 1_998, 2_997, 2_997, 2_997, 2_997]);
  });

  it('waits what a Retry-After asked for instead of the shorter backoff, at most the slow-retry cap', async () => {
    const times: number[] = [];
    const outcomes: BeatOutcome[] = [
      { kind: 'retry', retryAfterMs: 20_000 },
      { kind: 'retry', retryAfterMs: 365 * 86_400_000 },
      { kind: 'retry', retryAfterMs: 1 },
      { kind: 'ok' },
    ];
    const loop = makeLoop(async () => {
      times.push(Date.now());
      return outcomes.shift() ?? { kind: 'ok' };
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(90_000);
    await loop.stop();
    const gaps = times.slice(1, 4).map((t, i) => t - times[i]!);
    // 20 s as asked; a year capped at the slow retry's 60 s; 1 ms is shorter than the backoff (3,996 ms), which wins.
    expect(gaps).toEqual([20_000, 60_000, 3_996]);
  });

  it('retries slowly after an authorization failure', async () => {
    let calls = 0;
    const loop = makeLoop(async () => {
      calls += 1;
      return { kind: 'slow-retry' };
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(119_000);
    await loop.stop();
    expect(calls).toBe(2);
  });

  it('adopts a new interval from the next beat on', async () => {
    const times: number[] = [];
    const loop = makeLoop(async () => {
      times.push(Date.now());
      return { kind: 'ok' };
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(1);
    loop.setInterval(2_000);
    const before = times.length;
    await vi.advanceTimersByTimeAsync(20_000);
    await loop.stop();
    expect(times.length - before).toBeGreaterThanOrEqual(9);
    expect(loop.interval).toBe(2_000);
  });

  it('beats immediately when asked, and again at once after "again"', async () => {
    const times: number[] = [];
    const outcomes: BeatOutcome['kind'][] = ['ok', 'again', 'ok'];
    const loop = makeLoop(async () => {
      times.push(Date.now());
      return { kind: outcomes.shift() ?? 'ok' } as BeatOutcome;
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(times).toHaveLength(1);
    loop.beatNow();
    await vi.advanceTimersByTimeAsync(1);
    expect(times).toHaveLength(3);
    await loop.stop();
  });

  it('spreads a fleet of 1000 loops started at the same moment over the interval', async () => {
    const perSecond = new Map<number, number>();
    const loops = Array.from({ length: 1000 }, (_, i) =>
      new HeartbeatLoop({
        intervalMs: 10_000,
        phaseKey: `node-${i}`,
        retry,
        slowRetry,
        clock,
        beat: async () => {
          const second = Math.floor(Date.now() / 1000);
          perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
          return { kind: 'ok' };
        },
      }),
    );
    for (const loop of loops) loop.start();
    await vi.advanceTimersByTimeAsync(100);
    perSecond.clear(); // the registrations all happen at start; look at the heartbeats after them
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(loops.map((loop) => loop.stop()));
    const counts = [...perSecond.values()];
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5_000);
    expect(Math.max(...counts)).toBeLessThan(160);
  });

  it('registers on its own slot after a start-up delay of one interval, then beats one interval later', async () => {
    const times: number[] = [];
    const loop = new HeartbeatLoop({
      intervalMs: 10_000,
      phaseKey: 'node-1',
      startupDelayMs: 10_000,
      retry,
      slowRetry,
      clock,
      beat: async () => {
        times.push(Date.now());
        return { kind: 'ok' };
      },
    });
    const start = Date.now();
    loop.start();
    const offset = phaseOffsetMs('node-1', 10_000);
    expect(loop.nextBeatAt).toBe(start + offset);
    await vi.advanceTimersByTimeAsync(25_000);
    await loop.stop();
    expect(times).toEqual([start + offset, start + offset + 10_000, start + offset + 20_000]);
  });

  it('keeps the start-up delay within a bound shorter than the interval', () => {
    const loop = new HeartbeatLoop({ intervalMs: 10_000, phaseKey: 'node-1', startupDelayMs: 2_000, retry, slowRetry, clock, beat: async () => ({ kind: 'ok' }) });
    const start = Date.now();
    loop.start();
    expect(loop.nextBeatAt).toBe(start + Math.floor(phaseOffsetMs('node-1', 10_000) / 5));
    void loop.stop();
  });

  it('spreads the registrations of 1000 loops started at once over the first interval', async () => {
    const perSecond = new Array<number>(30).fill(0);
    const start = Date.now();
    const loops = Array.from({ length: 1000 }, (_, i) =>
      new HeartbeatLoop({
        intervalMs: 10_000,
        phaseKey: `node-${i}`,
        startupDelayMs: 10_000,
        retry,
        slowRetry,
        clock,
        beat: async () => {
          const second = Math.floor((Date.now() - start) / 1000);
          perSecond[second] = (perSecond[second] ?? 0) + 1;
          return { kind: 'ok' };
        },
      }),
    );
    for (const loop of loops) loop.start();
    await vi.advanceTimersByTimeAsync(29_999);
    await Promise.all(loops.map((loop) => loop.stop()));
    // Registrations in the first 10 s, heartbeats after: one request per node per interval throughout.
    expect(perSecond.reduce((a, b) => a + b, 0)).toBe(3_000);
    expect(Math.max(...perSecond)).toBeLessThan(150);
    expect(Math.min(...perSecond)).toBeGreaterThan(50);
  });

  it('stops beating after stop()', async () => {
    let calls = 0;
    const loop = makeLoop(async () => {
      calls += 1;
      return { kind: 'ok' };
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(1);
    await loop.stop();
    await vi.advanceTimersByTimeAsync(100_000);
    expect(calls).toBe(1);
  });
});
