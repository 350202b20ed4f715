import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeTempDir } from '../test/helpers/spawn-process.ts';
import { ACTION, postAction, startCoordinatorChild } from './lib/coordinator-child.ts';
import { seededStore } from './lib/fleet-seed.ts';
import { runLoad } from './lib/load.ts';
import { ProcessMeter, sleep } from './lib/proc-stats.ts';
import { type BenchContext, type BenchResult, type Benchmark, figure, percentile } from './lib/types.ts';

interface NodeRow {
  id: string;
  status: string;
  last_heartbeat: number;
  terminated_at: number | null;
  termination_reason: string | null;
}

/**
 * 2. Detection precision under load: the fleet heartbeats at the goal rate (every node once per
 * interval) while a set of nodes sends one last heartbeat and falls silent. For each silent node:
 * terminatedAt - (last heartbeat + timeout). The baseline is the sweep period (1 s): the bound a
 * once-per-second sweep can reach.
 */
/** The agents' backoff cap the coordinator hands out: the startup grace is the timeout plus this. */
const RETRY_CAP_SECS = 1;

export const detectionBenchmark: Benchmark = {
  name: 'detection',
  title: 'Detection precision under heartbeat load',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const full = ctx.scale === 'full';
    const size = full ? 100_000 : 300;
    const silentCount = full ? 200 : 10;
    const intervalSecs = full ? 10 : 1;
    const timeoutSecs = full ? 30 : 2;
    const connections = full ? 100 : 10;
    const rate = Math.ceil(size / intervalSecs);
    const storePath = join(makeTempDir('nodepulse-bench-'), 'nodepulse.db');
    ctx.log(`detection: seeding ${size} nodes`);
    const { nodes: fleet } = await seededStore(storePath, size);
    const silent = fleet.slice(0, silentCount);
    const live = fleet.slice(silentCount).map((node) => node.token);
    const coordinator = await startCoordinatorChild(ctx.runtime, {
      storePath,
      args: ['--heartbeat-interval', String(intervalSecs), '--heartbeat-timeout', String(timeoutSecs), '--agent-retry-max-delay-secs', String(RETRY_CAP_SECS)],
    });
    const timeoutMs = timeoutSecs * 1000;
    // Silent nodes send their last heartbeat spread over one interval, more than the agents' backoff
    // cap after the startup grace (timeout + cap) has begun, so every deadline falls after the grace
    // ends; then the run lasts until the last deadline + 4 s.
    const lastBeatsFrom = RETRY_CAP_SECS * 1000 + (full ? 1000 : 500);
    const durationSecs = Math.ceil((lastBeatsFrom + intervalSecs * 1000 + timeoutMs) / 1000) + (full ? 6 : 2);
    const meter = new ProcessMeter(coordinator.pid);
    const lastBeatFailures: string[] = [];
    try {
      ctx.log(`detection: ${size} nodes at ${rate} heartbeats/s for ${durationSecs}s; ${silentCount} fall silent`);
      meter.start();
      const load = runLoad({ url: coordinator.url, path: `${ACTION}cluster_ReportNodeHeartbeat`, tokens: live, connections, durationSecs, overallRate: rate });
      // Each last heartbeat leaves on its own schedule (not after the previous answer), so a slow
      // answer does not push the later ones, and their deadlines, past the end of the run.
      const spacing = (intervalSecs * 1000) / silent.length;
      const lastBeats = Promise.all(
        silent.map(async (node, i) => {
          await sleep(lastBeatsFrom + i * spacing);
          const answer = await postAction(coordinator.url, 'cluster_ReportNodeHeartbeat', node.token).catch((error: unknown) => ({ status: 0, body: String(error) }));
          if (answer.status !== 200) lastBeatFailures.push(`${answer.status} ${JSON.stringify(answer.body)}`);
        }),
      );
      const [result] = await Promise.all([load, lastBeats]);
      const proc = meter.stop();
      await sleep(500);
      const db = new Database(coordinator.storePath, { readonly: true });
      let rows: NodeRow[];
      try {
        rows = db.prepare('SELECT id, status, last_heartbeat, terminated_at, termination_reason FROM nodes').all() as NodeRow[];
      } finally {
        db.close();
      }
      const silentIds = new Set(silent.map((node) => node.nodeId));
      const delays: number[] = [];
      let missed = 0;
      let early = 0;
      let liveTerminated = 0;
      for (const row of rows) {
        if (silentIds.has(row.id)) {
          if (row.status !== 'Terminated' || row.terminated_at === null) missed += 1;
          else {
            const delay = row.terminated_at - (row.last_heartbeat + timeoutMs);
            if (delay < 0) early += 1;
            delays.push(delay);
          }
        } else if (row.status === 'Terminated') liveTerminated += 1;
      }
      delays.sort((a, b) => a - b);
      const sweepPeriodMs = 1000;
      const p99 = percentile(delays, 99);
      return {
        name: 'detection',
        title: this.title,
        command: 'npm run bench -- --only detection --scale full',
        runtime: `coordinator: ${ctx.runtime.describe}; load: autocannon paced at ${rate}/s over ${connections} connections`,
        figures: [
          figure('detection delay p50', percentile(delays, 50), 'ms after deadline', { baseline: sweepPeriodMs }),
          figure('detection delay p99', p99, 'ms after deadline', { baseline: sweepPeriodMs, goal: '<= 1000 ms after the deadline (timeout + 1 s)', met: p99 <= 1000 && missed === 0 }),
          figure('detection delay max', delays[delays.length - 1] ?? Number.NaN, 'ms after deadline', { baseline: sweepPeriodMs }),
          figure('silent nodes detected by the end of the run', delays.length, `of ${silentCount}`, { goal: 'all', met: missed === 0 }),
          figure('terminated before their deadline', early, 'nodes', { goal: '0', met: early === 0 }),
          figure('heartbeating nodes terminated', liveTerminated, 'nodes', { goal: '0', met: liveTerminated === 0 }),
          figure('heartbeat rate held', result.requestsPerSec, 'req/s', { baseline: rate }),
          figure('heartbeat p99 latency', result.p99Ms, 'ms'),
          figure('refused heartbeats', result.non2xx + result.errors + lastBeatFailures.length, 'requests', { goal: '0', met: result.non2xx + result.errors + lastBeatFailures.length === 0 }),
          figure('coordinator CPU', proc.cpuPercent, '% of a core'),
        ],
        notes: [
          `${size} nodes, interval ${intervalSecs}s, timeout ${timeoutSecs}s; ${silentCount} nodes send a last heartbeat spread over one interval and fall silent.`,
          'Deadline = the last heartbeat the store recorded + timeout; terminatedAt from the store (ms). Baseline = the sweep period (1 s).',
        ],
        detail: { delays, missed, lastBeatFailures, load: result },
      };
    } finally {
      await coordinator.stop();
    }
  },
};
