import { loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeTempDir } from '../test/helpers/spawn-process.ts';
import { FLEET_RETRY_CAP_SECS, HEARTBEAT_PATH, fleetTimingArgs, type CoordinatorChild, LEARN_CYCLES, knownNodes, startCoordinatorChild, untilKnown } from './lib/coordinator-child.ts';
import { seededStore } from './lib/fleet-seed.ts';
import { runPaced } from './lib/paced-client.ts';
import { sleep } from './lib/proc-stats.ts';
import { type BenchContext, type BenchResult, type Benchmark, type Figure, figure, percentile } from './lib/types.ts';

/** Answers that send an agent to register again (src/agent/node-session.ts): a registration storm if many. */
const NODE_GONE = ['401', '404', '410'];

const SCALES = {
  full: { nodes: 1_000_000, intervalSecs: 60, timeoutSecs: 120, connections: 100 },
  smoke: { nodes: 300, intervalSecs: 1, timeoutSecs: 3, connections: 10 },
};

/** What the agents saw during one phase of the run. */
class Phase {
  readonly statuses: Record<string, number> = {};
  readonly latenciesMs: number[] = [];
  retryAfter = 0;

  answer(status: string, latencyMs: number, retryAfter: boolean): void {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.latenciesMs.push(latencyMs);
    if (retryAfter) this.retryAfter++;
  }

  count(statuses: readonly string[]): number {
    return statuses.reduce((sum, status) => sum + (this.statuses[status] ?? 0), 0);
  }

  get answers(): number {
    return this.latenciesMs.length;
  }

  p99(): number {
    return percentile(this.latenciesMs.sort((a, b) => a - b), 99);
  }
}

/**
 * Restart at scale: the seeded fleet heartbeats at the goal rate (every node once per interval,
 * paced, keeping its token throughout) until the coordinator knows every node; then the
 * coordinator is stopped (SIGTERM, later SIGKILL) and started again on the same file and port.
 * Measured per restart: time to listen, time until every node is known again (the directory
 * learns each from the store on its first heartbeat), what the agents were answered meanwhile;
 * after the startup grace, that no node was terminated.
 */
export const restartBenchmark: Benchmark = {
  name: 'restart',
  title: 'Coordinator restart at scale',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const s = SCALES[ctx.scale];
    const rate = Math.ceil(s.nodes / s.intervalSecs);
    const args = fleetTimingArgs(s);
    const storePath = join(makeTempDir('nodepulse-bench-'), 'nodepulse.db');
    ctx.log(`restart: seeding ${s.nodes} nodes`);
    const { nodes: fleet } = await seededStore(storePath, s.nodes);
    const start = (port?: number) => startCoordinatorChild(ctx.runtime, { storePath, args, listenTimeoutMs: 300_000, ...(port ? { port } : {}) });
    let coordinator: CoordinatorChild = await start();
    const phases = new Map<string, Phase>();
    let phase = new Phase();
    phases.set('before', phase);
    const enter = (name: string) => {
      phase = new Phase();
      phases.set(name, phase);
    };
    const stop = new AbortController();
    const client = runPaced({
      url: coordinator.url,
      path: HEARTBEAT_PATH,
      connections: s.connections,
      rate,
      durationSecs: 24 * 3600,
      stop: stop.signal,
      tokenFor: (index) => (fleet[index % fleet.length] as { token: string }).token,
      onAnswer: (status, latencyMs, retryAfter) => phase.answer(status, latencyMs, retryAfter),
    });
    const figures: Figure[] = [];
    const detail: Record<string, unknown> = {};
    try {
      const cycleMs = (s.nodes / rate) * 1000;
      ctx.log(`restart: ${rate} heartbeats/s until all ${s.nodes} nodes are known`);
      // Past the cap, the restarts go ahead with the part of the fleet known so far (a figure says how much).
      await untilKnown(coordinator.url, s.nodes, LEARN_CYCLES * cycleMs);
      const knownBefore = await knownNodes(coordinator.url);
      figures.push(figure('nodes known before the first stop', knownBefore, `of ${s.nodes}`, { goal: 'all', met: knownBefore === s.nodes }));
      const before = phase;
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        ctx.log(`restart: ${signal}`);
        enter(`${signal} down`);
        const killedAt = Date.now();
        coordinator.proc.kill(signal);
        await coordinator.proc.waitForExit(120_000);
        const down = phase;
        coordinator = await start(coordinator.port);
        const listening = coordinator.listeningAt;
        enter(`${signal} recovering`);
        const knownAt = await untilKnown(coordinator.url, s.nodes, LEARN_CYCLES * cycleMs);
        // Recovering lasts at least one interval, every agent's first heartbeat to the new process,
        // however soon the directory's load at start knew the fleet.
        await sleep(Math.max(0, listening + cycleMs - Date.now()));
        const recovering = phase;
        enter(`${signal} after`);
        // Past the startup grace (timeout + the agents' backoff cap) and a few sweeps: a false timeout would show.
        await sleep(Math.max(0, listening + (s.timeoutSecs + FLEET_RETRY_CAP_SECS) * 1000 + 3000 - Date.now()));
        const terminated = terminatedNodes(storePath);
        const p99 = recovering.p99();
        const loadNow = loadavg()[0] as number;
        figures.push(
          figure(`${signal}: stop to listening again`, (listening - killedAt) / 1000, 's'),
          figure(`${signal}: listening to every node known`, knownAt === undefined ? Number.NaN : (knownAt - listening) / 1000, 's', { baseline: s.intervalSecs }),
          figure(`${signal}: heartbeats answered 200 while recovering`, recovering.count(['200']), `of ${recovering.answers}`),
          figure(`${signal}: answers with Retry-After while recovering`, recovering.retryAfter, 'answers'),
          figure(`${signal}: answers sending an agent to register again (401/404/410)`, down.count(NODE_GONE) + recovering.count(NODE_GONE) + phase.count(NODE_GONE), 'answers', {
            goal: '0',
            met: down.count(NODE_GONE) + recovering.count(NODE_GONE) + phase.count(NODE_GONE) === 0,
          }),
          figure(`${signal}: p99 latency while recovering`, p99, 'ms', { baseline: before.p99() }),
          figure(`${signal}: nodes terminated by the startup grace's end + 3 s`, terminated, 'nodes', { goal: '0', met: terminated === 0 }),
          figure(`${signal}: machine load average (1 min)`, loadNow, 'runnable'),
        );
        detail[signal] = { killedAt, listening, knownAt, down: down.statuses, recovering: recovering.statuses, after: phase.statuses, terminated };
      }
    } finally {
      stop.abort();
      const result = await client;
      detail.client = { ...result, latenciesMs: undefined };
      figures.push(figure('requests whose connection closed unanswered (both stops)', result.lost, 'requests'));
      await coordinator.stop();
    }
    return {
      name: 'restart',
      title: this.title,
      command: 'npm run bench -- --only restart --scale full',
      runtime: `coordinator: ${ctx.runtime.describe}; SQLite; paced client (raw sockets, ${s.connections} connections, reconnecting every 100 ms while the port is closed) in the runner process`,
      figures,
      notes: [
        `${s.nodes} nodes seeded into the store, heartbeating at ${rate}/s (every node once per ${s.intervalSecs} s interval, each with its own token throughout); timeout ${s.timeoutSecs}s, agents' backoff cap ${FLEET_RETRY_CAP_SECS}s.`,
        'Baseline of "every node known": one interval, the time every agent takes to heartbeat once; of the recovering p99: the p99 before the first stop.',
        'Requests due while the coordinator is down leave as soon as it listens again (a catch-up burst, as agents retrying at once would send).',
      ],
      detail,
    };
  },
};

function terminatedNodes(storePath: string): number {
  const db = new Database(storePath, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM nodes WHERE status = 'Terminated'").pluck().get() as number;
  } finally {
    db.close();
  }
}
