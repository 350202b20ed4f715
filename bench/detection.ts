import { join } from 'node:path';
import { makeTempDir } from '../test/helpers/spawn-process.ts';
import { ACTION, startCoordinatorChild } from './lib/coordinator-child.ts';
import { seededStore } from './lib/fleet-seed.ts';
import { runLoad } from './lib/load.ts';
import { ProcessMeter, sleep } from './lib/proc-stats.ts';
import { detectionFigures, judgeSilence, sendLastHeartbeats } from './lib/silent-nodes.ts';
import { type BenchContext, type BenchResult, type Benchmark, figure } from './lib/types.ts';

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
    try {
      ctx.log(`detection: ${size} nodes at ${rate} heartbeats/s for ${durationSecs}s; ${silentCount} fall silent`);
      meter.start();
      const load = runLoad({ url: coordinator.url, path: `${ACTION}cluster_ReportNodeHeartbeat`, tokens: live, connections, durationSecs, overallRate: rate });
      const lastBeats = sendLastHeartbeats(coordinator.url, silent, lastBeatsFrom, (intervalSecs * 1000) / silent.length);
      const [result, lastBeatFailures] = await Promise.all([load, lastBeats]);
      const proc = meter.stop();
      await sleep(500);
      const verdict = judgeSilence(coordinator.storePath, silent.map((node) => node.nodeId), timeoutMs);
      return {
        name: 'detection',
        title: this.title,
        command: 'npm run bench -- --only detection --scale full',
        runtime: `coordinator: ${ctx.runtime.describe}; load: autocannon paced at ${rate}/s over ${connections} connections`,
        figures: [
          ...detectionFigures(verdict, silentCount),
          figure('heartbeat rate held', result.requestsPerSec, 'req/s', { baseline: rate }),
          figure('heartbeat p99 latency', result.p99Ms, 'ms'),
          figure('refused heartbeats', result.non2xx + result.errors + lastBeatFailures.length, 'requests', { goal: '0', met: result.non2xx + result.errors + lastBeatFailures.length === 0 }),
          figure('coordinator CPU', proc.cpuPercent, '% of a core'),
        ],
        notes: [
          `${size} nodes, interval ${intervalSecs}s, timeout ${timeoutSecs}s; ${silentCount} nodes send a last heartbeat spread over one interval and fall silent.`,
          'Deadline = the last heartbeat the store recorded + timeout; terminatedAt from the store (ms). Baseline = the sweep period (1 s).',
        ],
        detail: { ...verdict, lastBeatFailures, load: result },
      };
    } finally {
      await coordinator.stop();
    }
  },
};
