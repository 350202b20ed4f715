import { describe, expect, it, vi } from 'vitest';
import { HistoryRetention, RETENTION_BATCH } from '../../../src/coordinator/retention/history-retention.ts';
import { ManualClock } from '../../../src/shared/clock.ts';
import { createLogger } from '../../../src/shared/logger.ts';

const DAY = 86_400_000;
const logger = createLogger({ level: 'error', component: 'test', pretty: false });

/** A store holding `rows` old rows of each kind, deleting at most a batch per call. */
function storeWith(rows: { transitions: number; nodes: number }) {
  const left = { ...rows };
  const take = (kind: keyof typeof left) =>
    vi.fn(async (_olderThan: number, limit: number) => {
      const deleted = Math.min(limit, left[kind]);
      left[kind] -= deleted;
      return deleted;
    });
  return { pruneTransitions: take('transitions'), pruneTerminatedNodes: take('nodes'), left };
}

describe('history retention', () => {
  it('deletes what is older than the retention age, batch after batch with a pause between, until a batch comes back short', async () => {
    const clock = new ManualClock();
    const store = storeWith({ transitions: 2 * RETENTION_BATCH + 10, nodes: 5 });
    const pause = vi.fn(async () => {});
    const retention = new HistoryRetention({ store, clock, logger, maxAgeMs: 30 * DAY, periodMs: 60_000, pause });
    expect(await retention.run()).toEqual({ transitions: 2 * RETENTION_BATCH + 10, nodes: 5 });
    expect(store.pruneTransitions).toHaveBeenCalledTimes(3);
    expect(store.pruneTransitions).toHaveBeenCalledWith(clock.now() - 30 * DAY, RETENTION_BATCH);
    expect(store.pruneTerminatedNodes).toHaveBeenCalledTimes(1);
    expect(pause).toHaveBeenCalledTimes(2);
    expect(await retention.run()).toEqual({ transitions: 0, nodes: 0 });
  });

  it('runs once at start and then on its period, only where it should (the sweeping replica)', async () => {
    vi.useFakeTimers();
    try {
      const store = storeWith({ transitions: 0, nodes: 0 });
      let leader = false;
      const retention = new HistoryRetention({ store, clock: new ManualClock(), logger, maxAgeMs: DAY, periodMs: 60_000, shouldRun: () => leader });
      retention.start();
      await vi.advanceTimersByTimeAsync(61_000);
      expect(store.pruneTransitions).not.toHaveBeenCalled();
      leader = true;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(store.pruneTransitions).toHaveBeenCalledTimes(1);
      await retention.stop();
      await vi.advanceTimersByTimeAsync(120_000);
      expect(store.pruneTransitions).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
