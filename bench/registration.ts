import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeTempDir } from '../test/helpers/spawn-process.ts';
import { startBareFastify } from './lib/baseline-server.ts';
import { ACTION, BENCH_ENROLL, startCoordinatorChild } from './lib/coordinator-child.ts';
import { runLoad } from './lib/load.ts';
import { ProcessMeter } from './lib/proc-stats.ts';
import { registerFleet } from './lib/register-fleet.ts';
import { type BenchContext, type BenchResult, type Benchmark, figure } from './lib/types.ts';

/** The storage ceiling: one-row commits per second on a SQLite file with the store's pragmas. */
function rawCommitsPerSec(count: number): number {
  const db = new Database(join(makeTempDir('nodepulse-bench-'), 'raw.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, payload TEXT NOT NULL, at INTEGER NOT NULL)');
    const insert = db.prepare('INSERT INTO t (id, payload, at) VALUES (?, ?, ?)');
    const one = db.transaction((i: number) => insert.run(`row-${i}`, 'x'.repeat(64), Date.now()));
    const started = performance.now();
    for (let i = 0; i < count; i++) one(i);
    return count / ((performance.now() - started) / 1000);
  } finally {
    db.close();
  }
}

/**
 * 5. Registration throughput over HTTP with the durable SQLite store (each registration is a
 * committed transaction before the answer). Baseline: raw one-row commits on the same kind of
 * file with the same pragmas, measured in the same run.
 */
export const registrationBenchmark: Benchmark = {
  name: 'registration',
  title: 'Registration throughput (durable SQLite)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const full = ctx.scale === 'full';
    const count = full ? 10_000 : 500;
    const connections = full ? 32 : 8;
    const baseline = rawCommitsPerSec(full ? 20_000 : 2_000);
    // The HTTP ceiling of this machine right now: the bare Fastify route under the same load.
    const bare = await startBareFastify();
    let bareRate: number;
    try {
      const path = `${ACTION}cluster_ReportNodeHeartbeat`;
      bareRate = (await runLoad({ url: bare.url, path, tokens: [BENCH_ENROLL], connections, durationSecs: full ? 5 : 1, bodyFor: (i) => `{"hostname":"bare-${i}"}` })).requestsPerSec;
    } finally {
      await bare.stop();
    }
    const coordinator = await startCoordinatorChild(ctx.runtime, {});
    try {
      await registerFleet(coordinator.url, full ? 500 : 50, connections, 'warm');
      ctx.log(`registration: ${count} registrations over ${connections} connections`);
      const meter = new ProcessMeter(coordinator.pid);
      meter.start();
      const result = await registerFleet(coordinator.url, count, connections, 'reg');
      const proc = meter.stop();
      return {
        name: 'registration',
        title: this.title,
        command: 'npm run bench -- --only registration --scale full',
        runtime: `coordinator: ${ctx.runtime.describe}, SQLite WAL synchronous=NORMAL (a commit survives kill -9); autocannon in the runner`,
        figures: [
          figure('registrations/s vs raw SQLite commits', result.requestsPerSec, 'req/s', { baseline, goal: '>= 2000/s', met: result.requestsPerSec >= 2000 }),
          // The machine's HTTP ceiling of the moment, for scale: the goal is the absolute rate above.
          figure('registrations/s vs bare Fastify', result.requestsPerSec, 'req/s', { baseline: bareRate }),
          figure('registration p50 latency', result.p50Ms, 'ms'),
          figure('registration p99 latency', result.p99Ms, 'ms'),
          figure('failed registrations', result.non2xx + result.errors, 'requests', { goal: '0', met: result.non2xx + result.errors === 0 }),
          figure('coordinator CPU per registration', (proc.cpuMs * 1000) / Math.max(1, result.total), 'µs'),
        ],
        notes: [
          `${count} registrations, each with its own hostname and identity, after a warm-up; info logging on (one line per registration, as in production).`,
          'Baselines: raw one-row SQLite commits/s (WAL, synchronous=NORMAL) in this process, and the bare Fastify route under the same HTTP load (the machine\'s HTTP ceiling at that moment).',
          'The goal is the absolute 2000/s durable registrations; the Fastify ratio shows how much of the HTTP ceiling of the moment a registration takes.',
        ],
        detail: { result: { ...result, tokens: undefined }, proc },
      };
    } finally {
      await coordinator.stop();
    }
  },
};
