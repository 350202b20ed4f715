import { loadavg } from 'node:os';
import { join } from 'node:path';
import { makeTempDir } from '../test/helpers/spawn-process.ts';
import { startBareFastify } from './lib/baseline-server.ts';
import { FLEET_RETRY_CAP_SECS, HEARTBEAT_PATH, fleetTimingArgs, LEARN_CYCLES, knownNodes, startCoordinatorChild, untilKnown } from './lib/coordinator-child.ts';
import { seededStore } from './lib/fleet-seed.ts';
import { runLoad } from './lib/load.ts';
import { type PacedResult, runPaced } from './lib/paced-client.ts';
import { MIB, ProcessMeter, cpuMs, settledRss, sleep } from './lib/proc-stats.ts';
import { detectionFigures, judgeSilence, sendLastHeartbeats } from './lib/silent-nodes.ts';
import { type BenchContext, type BenchResult, type Benchmark, type Figure, figure, percentile } from './lib/types.ts';


const SCALES = {
  full: { nodes: 1_000_000, intervalSecs: 60, timeoutSecs: 120, silent: 200, connections: 100, pacedSecs: 20, maxSecs: 10 },
  smoke: { nodes: 400, intervalSecs: 2, timeoutSecs: 4, silent: 10, connections: 10, pacedSecs: 2, maxSecs: 1 },
};

/** The 1-minute load average, for the figures of a shared machine. */
const load1 = () => loadavg()[0] as number;

function pacedFigures(label: string, run: PacedResult, base: PacedResult, rate: number): Figure[] {
  const p99 = percentile(run.latenciesMs.sort((a, b) => a - b), 99);
  const baseP99 = percentile(base.latenciesMs.sort((a, b) => a - b), 99);
  const ok = run.statuses['200'] ?? 0;
  return [
    figure(`heartbeats/s held at ${rate}/s (${label})`, ok / run.durationSecs, 'req/s', { baseline: (base.statuses['200'] ?? 0) / base.durationSecs }),
    figure(`p50 latency at ${rate}/s`, percentile(run.latenciesMs, 50), 'ms', { baseline: percentile(base.latenciesMs, 50) }),
    figure(`p99 latency at ${rate}/s`, p99, 'ms', { baseline: baseP99, goal: '<= 2x bare Fastify', met: p99 <= 2 * Math.max(1, baseP99) }),
    figure(`answers other than 200 at ${rate}/s`, run.sent - ok, 'requests', { goal: '0', met: run.sent === ok }),
  ];
}

/**
 * One million registered nodes on one coordinator process (SQLite), heartbeating every 60 s: the
 * fleet is seeded into the store, then a paced client heartbeats every live node once per
 * interval (the coordinator learns each from the store on its first heartbeat) while a few nodes
 * fall silent. Measured: detection of the silent ones and no live node terminated; the event
 * loop's share (main-thread CPU) with the heartbeat writes on their worker; RSS per node over an
 * empty coordinator once every node was heard; p99 at the goal rate and the most heartbeats/s the
 * client drives, each against bare Fastify under the same client.
 */
export const millionBenchmark: Benchmark = {
  name: 'million',
  title: 'One million nodes on one coordinator',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const s = SCALES[ctx.scale];
    const rate = Math.ceil(s.nodes / s.intervalSecs);
    const args = fleetTimingArgs(s);
    const figures: Figure[] = [];
    const loads: Record<string, number> = {};

    const empty = await startCoordinatorChild(ctx.runtime, { args });
    const emptyRss = await settledRss(empty.pid, ctx.scale === 'full' ? 3000 : 500);
    await empty.stop();

    const storePath = join(makeTempDir('nodepulse-bench-'), 'nodepulse.db');
    ctx.log(`million: seeding ${s.nodes} nodes`);
    const seedStarted = performance.now();
    const { nodes: fleet } = await seededStore(storePath, s.nodes);
    const seedSecs = (performance.now() - seedStarted) / 1000;
    const silent = fleet.slice(0, s.silent);
    const live = fleet.slice(s.silent).map((node) => node.token);
    let cursor = 0;
    const nextToken = () => live[cursor++ % live.length] as string;

    const coordinator = await startCoordinatorChild(ctx.runtime, { storePath, args, listenTimeoutMs: 300_000 });
    const baseline = await startBareFastify();
    const paced = (url: string, durationSecs: number, stop?: AbortSignal) =>
      runPaced({ url, path: HEARTBEAT_PATH, connections: s.connections, rate, durationSecs, tokenFor: nextToken, ...(stop ? { stop } : {}) });
    try {
      // Every live node heartbeats until the directory knows them all; then the silent ones send a
      // last heartbeat and stop, while the fleet heartbeats on past their deadlines.
      ctx.log(`million: learning ${live.length} nodes, paced at ${rate}/s`);
      const learnStop = new AbortController();
      const learnStarted = Date.now();
      const learningRun = paced(coordinator.url, 24 * 3600, learnStop.signal);
      const allKnownAt = await untilKnown(coordinator.url, live.length, LEARN_CYCLES * s.intervalSecs * 1000);
      learnStop.abort();
      const learning = await learningRun;
      loads.learning = load1();
      if (allKnownAt === undefined) throw new Error(`the coordinator did not learn ${live.length} nodes in ${LEARN_CYCLES} intervals`);
      // The startup grace (timeout + the agents' backoff cap from start) times out nobody: the first
      // last heartbeat comes more than the cap after start, so every deadline falls after the grace
      // ends and the delays measure the sweeper, not the grace (before 18:30 on 2026-12-02 the first
      // ~20 deadlines fell inside it and waited for its end: p99 0.9-1.4 s).
      const spacing = Math.min(10_000, s.intervalSecs * 1000) / silent.length;
      const silentFrom = Math.max(Date.now(), coordinator.listeningAt + FLEET_RETRY_CAP_SECS * 1000 + 1000);
      const lastBeats = sendLastHeartbeats(coordinator.url, silent, silentFrom - Date.now(), spacing);
      const lastDeadline = silentFrom + spacing * silent.length + s.timeoutSecs * 1000;
      const steadySecs = Math.max(s.pacedSecs, Math.ceil((lastDeadline - Date.now()) / 1000) + 3);
      ctx.log(`million: steady ${steadySecs} s`);
      const meter = new ProcessMeter(coordinator.pid);
      const mainCpuBefore = cpuMs(coordinator.pid, coordinator.pid);
      meter.start();
      const steady = await paced(coordinator.url, steadySecs);
      const proc = meter.stop();
      const mainCpu = cpuMs(coordinator.pid, coordinator.pid) - mainCpuBefore;
      loads.steady = load1();
      const lastBeatFailures = await lastBeats;
      const known = await knownNodes(coordinator.url);
      const rss = await settledRss(coordinator.pid, ctx.scale === 'full' ? 4000 : 500);
      const perNode = (rss - emptyRss) / s.nodes;
      figures.push(
        figure('nodes registered (seeded)', s.nodes, 'nodes'),
        figure('seeding the store', seedSecs, 's'),
        figure('listening to every live node known', (allKnownAt - learnStarted) / 1000, 's', { baseline: s.intervalSecs }),
        figure('nodes known once every node was heard', known, `of ${s.nodes}`),
        figure('answers other than 200 while learning', learning.sent - (learning.statuses['200'] ?? 0) + lastBeatFailures.length, 'requests', {
          goal: '0',
          met: learning.sent === (learning.statuses['200'] ?? 0) && lastBeatFailures.length === 0,
        }),
        figure('heartbeats/s answered while learning', (learning.statuses['200'] ?? 0) / learning.durationSecs, 'req/s', { baseline: rate }),
        figure('event loop (main thread CPU), steady', (100 * mainCpu) / proc.wallMs, '% of a core'),
        figure('coordinator CPU (all threads), steady', proc.cpuPercent, '% of a core'),
        figure('RSS growth per node over an empty coordinator', perNode, 'bytes', { baseline: 1024, ratio: perNode / 1024, goal: '<= 1024 bytes (1 KiB)', met: perNode <= 1024 }),
        figure('coordinator RSS, every node heard', rss / MIB, 'MiB', { baseline: emptyRss / MIB }),
      );
      figures.push(...detectionFigures(judgeSilence(storePath, silent.map((node) => node.nodeId), s.timeoutSecs * 1000), silent.length));

      ctx.log(`million: ${rate}/s paced, coordinator then bare Fastify, ${s.pacedSecs} s each`);
      const pacedRun = await paced(coordinator.url, s.pacedSecs);
      const pacedBase = await paced(baseline.url, s.pacedSecs);
      loads.paced = load1();
      figures.push(...pacedFigures('steady', pacedRun, pacedBase, rate));

      ctx.log(`million: most heartbeats/s the client drives, bare Fastify then coordinator, ${s.maxSecs} s each`);
      const maxBase = await runLoad({ url: baseline.url, path: HEARTBEAT_PATH, tokens: live, connections: s.connections, durationSecs: s.maxSecs });
      const maxRun = await runLoad({ url: coordinator.url, path: HEARTBEAT_PATH, tokens: live, connections: s.connections, durationSecs: s.maxSecs });
      loads.max = load1();
      figures.push(
        figure('most heartbeats/s (autocannon)', maxRun.requestsPerSec, 'req/s', { baseline: maxBase.requestsPerSec, goal: '>= 0.8x bare Fastify', met: maxRun.requestsPerSec >= 0.8 * maxBase.requestsPerSec }),
        figure('p99 latency at the most heartbeats/s', maxRun.p99Ms, 'ms', { baseline: maxBase.p99Ms }),
        figure('refused or failed at the most heartbeats/s', maxRun.non2xx + maxRun.errors, 'requests', { goal: '0', met: maxRun.non2xx + maxRun.errors === 0 }),
      );
      return {
        name: 'million',
        title: this.title,
        command: 'npm run bench -- --only million --scale full',
        runtime: `coordinator: ${ctx.runtime.describe}; SQLite; paced client (raw sockets, ${s.connections} connections) and autocannon 9 in the runner process; baseline bare Fastify 5 under the same client`,
        figures,
        notes: [
          `${s.nodes} nodes seeded into the store (one token each), interval ${s.intervalSecs}s (${rate} heartbeats/s), timeout ${s.timeoutSecs}s; ${silent.length} nodes send a last heartbeat and fall silent.`,
          'The coordinator loads every Active node into its directory at start (a node not yet loaded is read from the store on its first heartbeat); memory is RSS once every node was heard, minus an empty coordinator\'s.',
          'Heartbeats are written by the SQLite store\'s worker thread; the event loop figure is the main thread\'s CPU.',
          `Machine load average (1 min) after each phase: learning ${loads.learning?.toFixed(1)}, steady ${loads.steady?.toFixed(1)}, paced ${loads.paced?.toFixed(1)}, most ${loads.max?.toFixed(1)}.`,
        ],
        detail: { emptyRss, rss, known, loads, lastBeatFailures, learning: { ...learning, latenciesMs: undefined }, steady: { ...steady, latenciesMs: undefined }, proc, mainCpu, maxRun, maxBase },
      };
    } finally {
      await baseline.stop();
      await coordinator.stop();
    }
  },
};
