import { join } from 'node:path';
import { makeTempDir } from '../test/helpers/spawn-process.ts';
import { startBareFastify } from './lib/baseline-server.ts';
import { ACTION, startCoordinatorChild } from './lib/coordinator-child.ts';
import { seededStore } from './lib/fleet-seed.ts';
import { runLoad } from './lib/load.ts';
import { MIB, ProcessMeter, rssBytes } from './lib/proc-stats.ts';
import { type BenchContext, type BenchResult, type Benchmark, type Figure, figure } from './lib/types.ts';

const PATH = `${ACTION}cluster_ReportNodeHeartbeat`;
/** Once a year (Jan 1st, midnight): never during a benchmark run. */
export const MONITOR_NEVER = '0 0 0 1 1 *';

/**
 * CPU time per request against the baseline's: on a shared machine the scheduler decides how much
 * CPU each process gets, so throughput ratios swing; the CPU cost per request does not. Reported
 * as capacity (baseline µs / coordinator µs) to show what the throughput ratio would be on an idle
 * machine; the goal itself is the throughput ratio.
 */
function cpuFigure(metric: string, msPerRequest: number, baselineMsPerRequest: number, goal?: { at: number }): Figure {
  const judged = goal ? { goal: `<= ${goal.at}x bare Fastify's µs`, met: msPerRequest <= goal.at * baselineMsPerRequest } : {};
  return figure(metric, msPerRequest * 1000, 'µs', { baseline: baselineMsPerRequest * 1000, ratio: baselineMsPerRequest / msPerRequest, ...judged });
}

/** CPU per heartbeat at the largest fleet, monitor on, as a multiple of bare Fastify's at most. */
const CPU_GOAL = { at: 1.25 };
/** Heartbeats/s with the cluster monitor on, as a share of the same fleet with it off, at least. */
const MONITOR_ON_SHARE = 0.95;

/**
 * 1. Heartbeat throughput and latency: N registered nodes, each with its own token, heartbeat
 * over keep-alive connections with the tokens rotating per request; the baseline is a bare
 * Fastify route parsing the same small JSON body, loaded the same way right before.
 */
export const heartbeatBenchmark: Benchmark = {
  name: 'heartbeat',
  title: 'Heartbeat throughput and latency',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const full = ctx.scale === 'full';
    const sizes = full ? [1_000, 10_000, 100_000] : [200];
    const durationSecs = full ? 10 : 1;
    const connections = full ? 100 : 10;
    const storePath = join(makeTempDir('nodepulse-bench-'), 'nodepulse.db');
    const largest = sizes[sizes.length - 1] as number;
    ctx.log(`heartbeat: seeding ${largest} nodes`);
    const { nodes: fleet } = await seededStore(storePath, largest);
    const tokens = fleet.map((node) => node.token);
    // A long timeout: this benchmark measures the hot path; detection is benchmark 2.
    const coordinator = await startCoordinatorChild(ctx.runtime, { storePath, args: ['--heartbeat-interval', '10', '--heartbeat-timeout', '3600'] });
    const baseline = await startBareFastify();
    const figures: Figure[] = [];
    const detail: Record<string, unknown> = {};
    let largestRate = 0;
    try {
      for (const size of sizes) {
        const subset = tokens.slice(0, size);
        ctx.log(`heartbeat: ${size} nodes: warm-up (one heartbeat per node)`);
        const warm = await runLoad({ url: coordinator.url, path: PATH, tokens: subset, connections, amount: size });
        if (warm.non2xx > 0) throw new Error(`warm-up: ${warm.non2xx} heartbeats were refused`);
        ctx.log(`heartbeat: ${size} nodes: baseline ${durationSecs}s`);
        const baseMeter = new ProcessMeter(baseline.pid);
        baseMeter.start();
        const base = await runLoad({ url: baseline.url, path: PATH, tokens: subset, connections, durationSecs });
        const baseProc = baseMeter.stop();
        ctx.log(`heartbeat: ${size} nodes: coordinator ${durationSecs}s`);
        const meter = new ProcessMeter(coordinator.pid);
        meter.start();
        const run = await runLoad({ url: coordinator.url, path: PATH, tokens: subset, connections, durationSecs });
        const proc = meter.stop();
        const label = size >= 1000 ? `${size / 1000}k` : String(size);
        figures.push(
          figure(`heartbeats/s @${label} nodes`, run.requestsPerSec, 'req/s', { baseline: base.requestsPerSec, goal: '>= 0.8x bare Fastify', met: run.requestsPerSec >= 0.8 * base.requestsPerSec }),
          figure(`p50 latency @${label}`, run.p50Ms, 'ms', { baseline: base.p50Ms }),
          figure(`p99 latency @${label}`, run.p99Ms, 'ms', { baseline: base.p99Ms, goal: `<= 20 ms at ${connections} connections`, met: run.p99Ms <= 20 }),
          figure(`coordinator CPU @${label}`, proc.cpuPercent, '% of a core', { baseline: baseProc.cpuPercent }),
          cpuFigure(`CPU per heartbeat @${label}`, proc.cpuMs / Math.max(1, run.total), baseProc.cpuMs / Math.max(1, base.total), size === largest ? CPU_GOAL : undefined),
          // The share above on the event loop; the rest is the SQLite store's heartbeat writer thread (and V8's helpers, as bare Fastify's).
          cpuFigure(`  of which the event loop @${label}`, proc.mainThreadCpuMs / Math.max(1, run.total), baseProc.cpuMs / Math.max(1, base.total)),
          figure(`coordinator RSS @${label}`, proc.peakRssBytes / MIB, 'MiB', { baseline: baseProc.peakRssBytes / MIB }),
        );
        largestRate = run.requestsPerSec;
        detail[String(size)] = { coordinator: { ...run, ...proc }, baseline: { ...base, ...baseProc }, refused: run.non2xx, errors: run.errors };
        if (run.non2xx > 0 || run.errors > 0) figures.push(figure(`refused or failed heartbeats @${label}`, run.non2xx + run.errors, 'requests'));
      }
      detail.finalRssMiB = rssBytes(coordinator.pid) / MIB;
      await coordinator.stop();
      // The attribution run needs a large store to mean anything; smoke runs skip it.
      if (!full) return result(ctx, connections, durationSecs, figures, detail);
      // Attribution: the same fleet with the cluster monitor's schedule set to never, so its
      // checks every 10 s show as the difference.
      const quietPath = join(makeTempDir('nodepulse-bench-'), 'nodepulse.db');
      await seededStore(quietPath, largest);
      const quiet = await startCoordinatorChild(ctx.runtime, {
        storePath: quietPath,
        args: ['--heartbeat-interval', '10', '--heartbeat-timeout', '3600'],
        env: { NODEPULSE_MONITOR_SCHEDULE: MONITOR_NEVER },
      });
      try {
        const label = largest >= 1000 ? `${largest / 1000}k` : String(largest);
        const rssBefore = rssBytes(quiet.pid);
        ctx.log(`heartbeat: ${largest} nodes, monitor schedule off: warm-up`);
        await runLoad({ url: quiet.url, path: PATH, tokens, connections, amount: largest });
        const baseMeter = new ProcessMeter(baseline.pid);
        baseMeter.start();
        const base = await runLoad({ url: baseline.url, path: PATH, tokens, connections, durationSecs });
        const baseProc = baseMeter.stop();
        ctx.log(`heartbeat: ${largest} nodes, monitor schedule off: ${durationSecs}s`);
        const meter = new ProcessMeter(quiet.pid);
        meter.start();
        const run = await runLoad({ url: quiet.url, path: PATH, tokens, connections, durationSecs });
        const proc = meter.stop();
        figures.push(
          figure(`heartbeats/s @${label}, monitor off`, run.requestsPerSec, 'req/s', { baseline: base.requestsPerSec, goal: '>= 0.8x bare Fastify', met: run.requestsPerSec >= 0.8 * base.requestsPerSec }),
          figure(`p99 latency @${label}, monitor off`, run.p99Ms, 'ms', { baseline: base.p99Ms, goal: `<= 20 ms at ${connections} connections`, met: run.p99Ms <= 20 }),
          cpuFigure(`CPU per heartbeat @${label}, monitor off`, proc.cpuMs / Math.max(1, run.total), baseProc.cpuMs / Math.max(1, base.total)),
          figure(`coordinator RSS @${label}, monitor off`, proc.peakRssBytes / MIB, 'MiB'),
          figure(`RSS growth per node entering the directory, monitor off`, (proc.rssBytes - rssBefore) / largest, 'bytes', { baseline: 2048 }),
          figure(`heartbeats/s @${label}, monitor on vs off`, largestRate, 'req/s', {
            baseline: run.requestsPerSec,
            goal: `>= ${MONITOR_ON_SHARE}x monitor off`,
            met: largestRate >= MONITOR_ON_SHARE * run.requestsPerSec,
          }),
        );
        detail.monitorOff = { run, proc, rssBefore };
      } finally {
        await quiet.stop();
      }
    } finally {
      await baseline.stop();
      await coordinator.stop();
    }
    return result(ctx, connections, durationSecs, figures, detail);
  },
};

function result(ctx: BenchContext, connections: number, durationSecs: number, figures: Figure[], detail: Record<string, unknown>): BenchResult {
  return {
    name: 'heartbeat',
    title: 'Heartbeat throughput and latency',
    command: 'npm run bench -- --only heartbeat --scale full',
    runtime: `coordinator: ${ctx.runtime.describe}; baseline: bare Fastify 5 (plain JS); load: autocannon 9 in the runner process, ${connections} keep-alive connections, node tokens rotating per request`,
    figures,
    notes: [
      `Nodes seeded straight into the SQLite store (one token each), then one warm-up heartbeat per node so the directory holds them all; ${durationSecs}s per measurement. The tokens rotate in a shuffled order, so each second's heartbeats fall on rows all over the file, as a real fleet's do.`,
      '"of which the event loop" is the main thread\'s CPU per heartbeat against bare Fastify\'s whole process; the difference from the row above is the heartbeat writer thread.',
      'The buffered heartbeats are written once a second by the SQLite store\'s worker thread (200-row transactions, the deadline index updated with them, a checkpoint after each batch) and the sweeper runs every second: both costs are inside the figures.',
      'Rows marked "monitor off" run the same fleet with NODEPULSE_MONITOR_SCHEDULE set to once a year; with it on, the cluster monitor checks every 10 s, reading the fleet counts kept in memory.',
    ],
    detail,
  };
}
