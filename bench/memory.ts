import { ACTION, startCoordinatorChild } from './lib/coordinator-child.ts';
import { runLoad } from './lib/load.ts';
import { MIB, settledRss } from './lib/proc-stats.ts';
import { registerFleet } from './lib/register-fleet.ts';
import { type BenchContext, type BenchResult, type Benchmark, figure } from './lib/types.ts';

/**
 * 4. Coordinator memory per node: RSS of the coordinator process with 0 registered nodes (after
 * a short warm-up so the code paths are compiled), then after N registrations over HTTP and one
 * heartbeat from each; growth / N. The baseline is the 0-node RSS of the same process.
 */
export const memoryBenchmark: Benchmark = {
  name: 'memory',
  title: 'Coordinator memory per node',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const full = ctx.scale === 'full';
    const count = full ? 100_000 : 1_000;
    const warmup = full ? 200 : 50;
    const connections = full ? 32 : 8;
    const coordinator = await startCoordinatorChild(ctx.runtime, { args: ['--heartbeat-interval', '10', '--heartbeat-timeout', '3600'] });
    try {
      const warm = await registerFleet(coordinator.url, warmup, connections, 'warm');
      await runLoad({ url: coordinator.url, path: `${ACTION}cluster_ReportNodeHeartbeat`, tokens: warm.tokens, connections, amount: warm.tokens.length * 5 });
      const before = await settledRss(coordinator.pid, full ? 3000 : 500);
      ctx.log(`memory: RSS ${(before / MIB).toFixed(1)} MiB with ${warmup} nodes; registering ${count}`);
      const registered = await registerFleet(coordinator.url, count, connections, 'mem');
      if (registered.tokens.length !== count) throw new Error(`only ${registered.tokens.length} of ${count} registrations succeeded`);
      const afterRegistration = await settledRss(coordinator.pid, full ? 3000 : 500);
      ctx.log('memory: one heartbeat from each node');
      await runLoad({ url: coordinator.url, path: `${ACTION}cluster_ReportNodeHeartbeat`, tokens: registered.tokens, connections: full ? 100 : 10, amount: count });
      const after = await settledRss(coordinator.pid, full ? 4000 : 500);
      const perNode = (after - before) / count;
      return {
        name: 'memory',
        title: this.title,
        command: 'npm run bench -- --only memory --scale full',
        runtime: `coordinator: ${ctx.runtime.describe}; registrations and heartbeats over HTTP from autocannon in the runner`,
        figures: [
          figure('RSS with 0 nodes (baseline)', before / MIB, 'MiB'),
          figure(`RSS after ${count} registrations`, afterRegistration / MIB, 'MiB', { baseline: before / MIB }),
          figure(`RSS after ${count} registrations + 1 heartbeat each`, after / MIB, 'MiB', { baseline: before / MIB }),
          figure('RSS growth per registered node', perNode, 'bytes', { baseline: 2048, ratio: perNode / 2048, goal: '<= 2048 bytes (2 KiB)', met: perNode <= 2048 }),
        ],
        notes: [
          `RSS is the median of 5 samples after each phase settles; growth is measured against the process with ${warmup} warm-up nodes (code compiled, pools allocated).`,
          'The ratio is against the 2 KiB goal. SQLite keeps its page cache bounded (default 2 MB), so growth is the node directory and V8 heap.',
        ],
        detail: { before, afterRegistration, after, registration: { ...registered, tokens: undefined } },
      };
    } finally {
      await coordinator.stop();
    }
  },
};
