import { loadavg } from 'node:os';
import { join } from 'node:path';
import { makeTempDir } from '../test/helpers/spawn-process.ts';
import { ACTION, startCoordinatorChild } from './lib/coordinator-child.ts';
import { seededStore } from './lib/fleet-seed.ts';
import { runLoad } from './lib/load.ts';
import { type PacedResult, runPaced } from './lib/paced-client.ts';
import { ProcessMeter } from './lib/proc-stats.ts';
import { prepareWrongTokenBurst } from './lib/wrong-token-burst.ts';
import { type BenchContext, type BenchResult, type Benchmark, type Figure, figure, percentile } from './lib/types.ts';

const PATH = `${ACTION}cluster_ReportNodeHeartbeat`;
/** The attacker's address: another loopback address than the agents' 127.0.0.1. */
const ATTACKER_ADDRESS = '127.0.0.2';
/** A failure budget no burst of this benchmark reaches: the coordinator as it was without the limit. */
const NO_LIMIT = 1_000_000;

interface Shape {
  nodes: number;
  /** Valid heartbeats per second, evenly spaced, and their connections. */
  heartbeatRate: number;
  connections: number;
  phaseSecs: number;
  /** Unmeasured heartbeats after the warm-up: the first flush writes every node at once, and the code paths warm up. */
  settleSecs: number;
  /** Wrong tokens per second from the attacker's address, and its connections. */
  attackRate: number;
  attackConnections: number;
}

interface Run {
  quiet: PacedResult;
  burst: PacedResult;
  attack: PacedResult;
  burstCpuPercent: number;
}

const p99 = (result: PacedResult) => percentile([...result.latenciesMs].sort((a, b) => a - b), 99);
const p50 = (result: PacedResult) => percentile([...result.latenciesMs].sort((a, b) => a - b), 50);
const answered = (result: PacedResult) => Object.values(result.statuses).reduce((sum, count) => sum + count, 0);
const refused = (result: PacedResult) => result.sent - (result.statuses['200'] ?? 0);

/** One coordinator: valid agents heartbeat alone (quiet), then while wrong tokens arrive from another address (burst). */
async function measure(ctx: BenchContext, shape: Shape, tokens: readonly string[], extraArgs: string[], label: string): Promise<Run> {
  const storePath = join(makeTempDir('nodepulse-bench-'), 'nodepulse.db');
  await seededStore(storePath, shape.nodes);
  const coordinator = await startCoordinatorChild(ctx.runtime, { storePath, args: ['--heartbeat-interval', '10', '--heartbeat-timeout', '3600', ...extraArgs] });
  try {
    const heartbeats = (durationSecs: number) =>
      runPaced({ url: coordinator.url, path: PATH, connections: shape.connections, rate: shape.heartbeatRate, durationSecs, tokenFor: (i) => tokens[i % tokens.length] as string });
    ctx.log(`auth-burst (${label}): warm-up, one heartbeat per node`);
    const warm = await runLoad({ url: coordinator.url, path: PATH, tokens, connections: shape.connections, amount: tokens.length });
    if (warm.non2xx > 0) throw new Error(`warm-up: ${warm.non2xx} heartbeats were refused`);
    await heartbeats(shape.settleSecs);
    ctx.log(`auth-burst (${label}): quiet, ${shape.heartbeatRate} heartbeats/s for ${shape.phaseSecs}s`);
    const quiet = await heartbeats(shape.phaseSecs);
    ctx.log(`auth-burst (${label}): burst, ${shape.attackRate} wrong tokens/s from ${ATTACKER_ADDRESS} alongside`);
    const attacker = await prepareWrongTokenBurst({
      url: coordinator.url,
      path: PATH,
      localAddress: ATTACKER_ADDRESS,
      connections: shape.attackConnections,
      rate: shape.attackRate,
      durationSecs: shape.phaseSecs,
    });
    const meter = new ProcessMeter(coordinator.pid);
    meter.start();
    const [burst, attack] = await Promise.all([heartbeats(shape.phaseSecs), attacker.start()]);
    return { quiet, burst, attack, burstCpuPercent: meter.stop().cpuPercent };
  } finally {
    await coordinator.stop();
  }
}

function attackFigures(prefix: string, run: Run): Figure[] {
  return [
    figure(`${prefix}wrong tokens answered`, answered(run.attack) / run.attack.durationSecs, 'req/s'),
    figure(`${prefix}wrong tokens answered 401`, run.attack.statuses['401'] ?? 0, 'requests'),
    figure(`${prefix}wrong tokens answered 429`, run.attack.statuses['429'] ?? 0, 'requests'),
    figure(`${prefix}coordinator CPU during the burst`, run.burstCpuPercent, '% of a core'),
  ];
}

/**
 * Valid agents' heartbeat latency while another address sends wrong tokens at the rate of the
 * issue's attack (10,000 in 3 s): quiet, then during the burst, with the failed-authentication
 * limit at its default. At full scale, the same again with the limit out of reach: what it buys.
 */
export const authBurstBenchmark: Benchmark = {
  name: 'auth-burst',
  title: 'Heartbeat latency during a burst of wrong tokens',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const full = ctx.scale === 'full';
    const shape: Shape = full
      ? { nodes: 10_000, heartbeatRate: 2_000, connections: 50, phaseSecs: 10, settleSecs: 3, attackRate: 3_334, attackConnections: 20 }
      : { nodes: 200, heartbeatRate: 400, connections: 10, phaseSecs: 1, settleSecs: 0.5, attackRate: 1_000, attackConnections: 5 };
    ctx.log(`auth-burst: seeding ${shape.nodes} nodes`);
    const { nodes } = await seededStore(join(makeTempDir('nodepulse-bench-'), 'nodepulse.db'), shape.nodes);
    const tokens = nodes.map((node) => node.token);
    const load1Before = loadavg()[0] ?? 0;
    const limited = await measure(ctx, shape, tokens, [], 'default limit');
    const unlimited = full ? await measure(ctx, shape, tokens, ['--auth-failure-limit', String(NO_LIMIT)], 'no limit') : undefined;
    const load1After = loadavg()[0] ?? 0;

    const ratio = p99(limited.burst) / p99(limited.quiet);
    const refusedHeartbeats = refused(limited.quiet) + refused(limited.burst);
    const figures: Figure[] = [
      figure('heartbeat p99, quiet', p99(limited.quiet), 'ms'),
      figure('heartbeat p99 during the burst', p99(limited.burst), 'ms', { baseline: p99(limited.quiet), ratio, goal: '<= 2x quiet', met: ratio <= 2 }),
      figure('heartbeat p50 during the burst', p50(limited.burst), 'ms', { baseline: p50(limited.quiet) }),
      figure('valid heartbeats refused or unanswered', refusedHeartbeats, 'requests', { goal: '0', met: refusedHeartbeats === 0 }),
      ...attackFigures('', limited),
    ];
    if (unlimited) {
      figures.push(
        figure('no limit: heartbeat p99 during the burst', p99(unlimited.burst), 'ms', { baseline: p99(unlimited.quiet) }),
        ...attackFigures('no limit: ', unlimited),
      );
    }
    const summary = (run: Run) => ({
      quiet: { p50Ms: p50(run.quiet), p99Ms: p99(run.quiet), sent: run.quiet.sent, late: run.quiet.late, statuses: run.quiet.statuses },
      burst: { p50Ms: p50(run.burst), p99Ms: p99(run.burst), sent: run.burst.sent, late: run.burst.late, statuses: run.burst.statuses },
      attack: { sent: run.attack.sent, late: run.attack.late, statuses: run.attack.statuses },
      burstCpuPercent: run.burstCpuPercent,
    });
    return {
      name: 'auth-burst',
      title: 'Heartbeat latency during a burst of wrong tokens',
      command: 'npm run bench -- --only auth-burst --scale full',
      runtime: `coordinator: ${ctx.runtime.describe}; agents: evenly paced raw keep-alive connections in the runner process, ${shape.connections} from 127.0.0.1; attacker: the same in a process of its own, ${shape.attackConnections} connections from ${ATTACKER_ADDRESS}`,
      figures,
      notes: [
        `${shape.nodes} nodes seeded; valid heartbeats at ${shape.heartbeatRate}/s, node tokens rotating; ${shape.phaseSecs}s quiet, then ${shape.phaseSecs}s with ${shape.attackRate} wrong tokens/s (half operator-shaped, half node tokens of unknown nodes) from ${ATTACKER_ADDRESS}.`,
        'The attacker waits for each answer on a connection before the next request, as almost every client does: past the limit, each 429 is held authThrottleDelayMs (1 s), so it gets about one answer per connection per second instead of the rate it aims at.',
        `Machine load (1 min) ${load1Before.toFixed(2)} before, ${load1After.toFixed(2)} after: the coordinator and the runner share the machine's cores with whatever else runs.`,
        ...(unlimited ? [`"no limit" rows: the same with --auth-failure-limit ${NO_LIMIT}: every wrong token is looked up and answered 401.`] : []),
      ],
      detail: { shape, limited: summary(limited), unlimited: unlimited && summary(unlimited), load1Before, load1After },
    };
  },
};
