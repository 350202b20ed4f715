import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeTempDir } from '../test/helpers/spawn-process.ts';
import { FleetCounts } from '../src/coordinator/fleet/fleet-counts.ts';
import { scanFleet } from '../src/coordinator/fleet/fleet-scan.ts';
import { SqliteStore } from '../src/coordinator/store/sqlite/sqlite-store.ts';
import { createLogger } from '../src/shared/logger.ts';
import { seedFleet } from './lib/fleet-seed.ts';
import { type BenchContext, type BenchResult, type Benchmark, type Figure, figure, percentile } from './lib/types.ts';

const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);

async function timedMs(runs: number, run: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * How long the event loop was busy while `run` ran: its own share of the work, whatever else
 * the machine runs (a stall figure would time the scheduler of a shared machine).
 */
async function eventLoopBusyMs(run: () => Promise<unknown>): Promise<number> {
  const before = performance.eventLoopUtilization();
  await run();
  return performance.eventLoopUtilization(before).active;
}

/** One fleet size: a monitor check's counts both ways, and what a reconcile costs. */
async function measureSize(size: number, ctx: BenchContext): Promise<Figure[]> {
  const storePath = join(makeTempDir('nodepulse-bench-'), 'nodepulse.db');
  ctx.log(`fleet-counts: seeding ${size} instances`);
  await seedFleet(storePath, size);
  const store = new SqliteStore(storePath);
  const logger = createLogger({ level: 'error', component: 'bench', pretty: false });
  const counts = new FleetCounts({ store, logger, reconcileMs: 3_600_000, knownInstanceOf: () => undefined });
  const label = size >= 1000 ? `${size / 1000}k` : String(size);
  try {
    const tallyMs = await timedMs(3, () => store.tallyInstances());
    ctx.log(`fleet-counts: ${size} instances: load and reconcile`);
    const loadStarted = performance.now();
    await counts.start();
    const loadMs = performance.now() - loadStarted;
    const countsMs = await timedMs(20, () => counts.tallies());
    const exact = JSON.stringify(counts.tallies()) === JSON.stringify(await store.tallyInstances());
    const scanMs = await timedMs(1, () => scanFleet(store).result);
    const reconcileBusyMs = await eventLoopBusyMs(() => counts.reconcile());
    const tallyBusyMs = await eventLoopBusyMs(() => store.tallyInstances());
    return [
      figure(`monitor check's fleet counts @${label}`, countsMs * 1000, 'µs', { baseline: tallyMs * 1000, goal: '< 1 ms', met: countsMs < 1 }),
      figure(`event loop busy for the store's tally (the check before) @${label}`, tallyBusyMs, 'ms'),
      figure(`counts equal the store's tally @${label}`, exact ? 1 : 0, 'yes=1', { goal: 'exact', met: exact }),
      figure(`load at start (scan + merge) @${label}`, loadMs, 'ms'),
      figure(`reconcile scan in the worker thread @${label}`, scanMs, 'ms'),
      figure(`event loop busy during a reconcile (worker start, merge) @${label}`, reconcileBusyMs, 'ms'),
    ];
  } finally {
    await counts.stop();
    await store.close();
  }
}

/**
 * 9. The fleet counts: what one cluster monitor check costs the event loop to count the fleet,
 * from the counts kept in memory against the store's aggregate query (the baseline, as the
 * monitor did every 10 s before), and what the reconcile that keeps them true costs.
 */
export const fleetCountsBenchmark: Benchmark = {
  name: 'fleet-counts',
  title: 'Fleet counts (cluster monitor and operator APIs)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const sizes = ctx.scale === 'full' ? [100_000, 1_000_000] : [2_000];
    const figures: Figure[] = [];
    for (const size of sizes) figures.push(...(await measureSize(size, ctx)));
    return {
      name: 'fleet-counts',
      title: this.title,
      command: 'npm run bench -- --only fleet-counts --scale full',
      runtime: 'in-process (tsx): SqliteStore (WAL, temp file) seeded with one Active node per instance; the reconcile scan in a worker thread with its own read-only connection (tsx loads it, which adds its start-up to the scan)',
      figures,
      notes: [
        "Baseline: the store's aggregate query over every instance (tallyInstances, in slices of 10,000 that yield), which the monitor ran on every check (every 10 s).",
        'A reconcile runs every 5 minutes alone on the store (every 30 s beside other replicas); its scan runs in the worker thread, its merge on the event loop in slices of 10,000 instances (about 1.5 ms each). Event-loop busy time is performance.eventLoopUtilization().active over the call.',
      ],
    };
  },
};
