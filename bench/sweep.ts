import { join } from 'node:path';
import { makeTempDir } from '../test/helpers/spawn-process.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { seededStore } from './lib/fleet-seed.ts';
import { createInProcessCoordinator } from './lib/in-process.ts';
import { type BenchContext, type BenchResult, type Benchmark, type Figure, figure, percentile } from './lib/types.ts';

const INTERVAL_SECS = 10;

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

interface SizeFigures {
  size: number;
  sweepNoneMs: number[];
  sweepOnePercentMs: number[];
  fullScanMs: number[];
  flushMs: number;
  flushRows: number;
}

/** Sweeps of one fleet size: nothing expiring, 1% expiring, and the full-scan baseline. */
async function measureSize(size: number, repeats: number, ctx: BenchContext): Promise<SizeFigures> {
  const storePath = join(makeTempDir('nodepulse-bench-'), 'nodepulse.db');
  ctx.log(`sweep: ${size} Active nodes`);
  const { nodes: fleet, seededAt } = await seededStore(storePath, size);
  const clock = new ManualClock(seededAt);
  const harness = await createInProcessCoordinator(storePath, clock, { heartbeatInterval: INTERVAL_SECS });
  const { coordinator, store } = harness;
  const timeoutMs = (3 * INTERVAL_SECS + 5) * 1000;
  try {
    clock.advance(1000);
    await coordinator.sweeper.sweep(); // warm the statements and the page cache
    const sweepNoneMs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const result = await coordinator.sweeper.sweep();
      if (result.terminated.length > 0) throw new Error('a sweep with nothing expiring terminated nodes');
      sweepNoneMs.push(result.durationMs);
    }
    // Baseline: the same question answered by a full scan of the table (no deadline index).
    const fullScan = store.db.prepare(
      "SELECT id, cluster_id, last_heartbeat FROM nodes NOT INDEXED WHERE status = 'Active' AND last_heartbeat < ? ORDER BY last_heartbeat LIMIT 50000",
    );
    const fullScanMs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const started = performance.now();
      fullScan.all(clock.now() - timeoutMs);
      fullScanMs.push(performance.now() - started);
    }
    // The batched flush at the goal rate: one interval's worth of heartbeats is the whole fleet; one second's is size / interval.
    const flushRows = Math.max(1, Math.floor(size / INTERVAL_SECS));
    const flushStarted = performance.now();
    await store.writeHeartbeats(fleet.slice(0, flushRows).map((node) => ({ nodeId: node.nodeId, at: clock.now() })));
    const flushMs = performance.now() - flushStarted;
    // 1% expiring: those nodes' last heartbeat is pushed past the timeout, one sweep terminates them, then they are revived.
    const expiring = Math.max(1, Math.floor(size / 100));
    const ids = fleet.slice(flushRows, flushRows + expiring).map((node) => node.nodeId);
    const age = store.db.prepare('UPDATE nodes SET last_heartbeat = ? WHERE id = ?');
    const revive = store.db.prepare("UPDATE nodes SET status = 'Active', terminated_at = NULL, termination_reason = NULL WHERE id = ?");
    const sweepOnePercentMs: number[] = [];
    for (let i = 0; i < Math.max(3, Math.ceil(repeats / 4)); i++) {
      const old = clock.now() - timeoutMs - 1000;
      store.db.transaction(() => {
        for (const id of ids) age.run(old, id);
      })();
      const result = await coordinator.sweeper.sweep();
      if (result.terminated.length !== expiring) throw new Error(`expected ${expiring} terminations, got ${result.terminated.length} (${result.skipped ?? 'no skip'})`);
      sweepOnePercentMs.push(result.durationMs);
      store.db.transaction(() => {
        for (const id of ids) revive.run(id);
      })();
      clock.advance(1000);
    }
    return { size, sweepNoneMs, sweepOnePercentMs, fullScanMs, flushMs, flushRows };
  } finally {
    await harness.close();
  }
}

/**
 * 3. Sweep cost with Active nodes of which 0% and 1% have expired, through the real sweeper and a
 * durable SQLite store, in-process on a manual clock. Baseline: the same expiry question answered
 * by a full table scan. Two fleet sizes show the cost follows the expiring nodes, not the fleet.
 */
export const sweepBenchmark: Benchmark = {
  name: 'sweep',
  title: 'Sweep cost',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const full = ctx.scale === 'full';
    const sizes = full ? [10_000, 100_000] : [500, 2_000];
    const repeats = full ? 40 : 8;
    const measured: SizeFigures[] = [];
    for (const size of sizes) measured.push(await measureSize(size, repeats, ctx));
    const figures: Figure[] = [];
    const largest = measured[measured.length - 1] as SizeFigures;
    const smaller = measured[0] as SizeFigures;
    const label = (size: number) => (size >= 1000 ? `${size / 1000}k` : String(size));
    for (const m of measured) {
      const none = median(m.sweepNoneMs);
      const isLargest = m === largest;
      figures.push(
        figure(`sweep, 0% expiring @${label(m.size)}`, none, 'ms', {
          baseline: median(m.fullScanMs),
          ...(isLargest ? { goal: '< 5 ms', met: none < 5 } : {}),
        }),
        figure(`sweep, 1% expiring @${label(m.size)}`, median(m.sweepOnePercentMs), 'ms', { baseline: none }),
        figure(`flush of ${m.flushRows} heartbeats (1 s at goal rate) @${label(m.size)}`, m.flushMs, 'ms'),
      );
    }
    figures.push(
      figure(`0%-expiring sweep growth ${label(smaller.size)} -> ${label(largest.size)}`, median(largest.sweepNoneMs) / median(smaller.sweepNoneMs), 'x', {
        goal: `flat (fleet grew ${largest.size / smaller.size}x)`,
        met: median(largest.sweepNoneMs) / median(smaller.sweepNoneMs) < 3,
      }),
    );
    return {
      name: 'sweep',
      title: this.title,
      command: 'npm run bench -- --only sweep --scale full',
      runtime: 'in-process: createCoordinator + SqliteStore (WAL, temp file) + ManualClock; Sweeper.sweep() timed by its own durationMs',
      figures,
      notes: [
        `Medians of ${repeats} sweeps (0%) and of several sweeps with 1% aged past the timeout (each terminates them, then they are revived).`,
        'Baseline for the 0% sweep: the same expiry query as a full table scan (NOT INDEXED). Baseline for 1%: the 0% sweep.',
        'The flush figure is the batched write of one second of heartbeats at the goal rate (fleet / 10 s interval), the other per-second cost of the deadline index.',
      ],
      detail: { measured },
    };
  },
};
