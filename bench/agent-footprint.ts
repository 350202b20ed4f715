import { spawnSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FactsCollector } from '../src/agent/facts-collector.ts';
import { systemProbes } from '../src/agent/probes.ts';
import { type SpawnedProcess, makeTempDir, spawnProcess } from '../test/helpers/spawn-process.ts';
import { BENCH_ENROLL, type CoordinatorChild, startCoordinatorChild } from './lib/coordinator-child.ts';
import { MIB, ProcessMeter, sleep } from './lib/proc-stats.ts';
import { type Runtime, agentRuntime } from './lib/runtime.ts';
import { type BenchContext, type BenchResult, type Benchmark, type Figure, figure } from './lib/types.ts';

/** Runs `work` and reports its wall and CPU time and the longest event-loop stall during it. */
async function stallDuring(work: () => Promise<void>): Promise<{ wallMs: number; cpuMs: number; maxStallMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  // A 1 ms ticker: the longest gap between its ticks is the longest time a heartbeat timer would wait.
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  histogram.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  await sleep(5);
  clearInterval(ticker);
  histogram.disable();
  return { wallMs, cpuMs: (used.user + used.system) / 1000, maxStallMs: Math.max(maxGap, histogram.max / 1e6) };
}

type Stall = Awaited<ReturnType<typeof stallDuring>>;

/**
 * The first facts collection (start-up, before the first registration) and a later one, in this
 * process; baseline: the same ticker while nothing runs for as long (the machine's own scheduling delay).
 */
async function measureFactsCollection(): Promise<{ cold: Stall; warm: Stall; idle: Stall }> {
  const collector = new FactsCollector(systemProbes('/sys/fs/cgroup'), {
    collectorTimeoutMs: 10_000,
    slowRefreshMs: 300_000,
    fastRefreshMs: 15_000,
    diskMounts: ['/'],
    capacity: { forksPerCpu: 4, memPerForkMib: 100, memReservedMib: 2048 },
    overrides: { cpus: undefined, memoryBytes: undefined },
  });
  const cold = await stallDuring(() => collector.collectAll());
  const warm = await stallDuring(() => collector.collectAll());
  collector.stop();
  const idle = await stallDuring(() => sleep(Math.max(warm.wallMs, 50)));
  return { cold, warm, idle };
}

/** Wall time of `--version` under the agent's own command (node start, loading the one file, yargs): the median of `runs`. */
function versionStartupMs(agent: Runtime, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const result = spawnSync(process.execPath, [...agent.args, '--version'], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`--version failed: ${result.stderr}`);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)] as number;
}

function startAgent(agent: Runtime, coordinator: CoordinatorChild, intervalSecs: number): SpawnedProcess {
  const stateDir = makeTempDir('nodepulse-bench-agent-');
  return spawnProcess(
    process.execPath,
    [...agent.args, 'agent', 'run', '--coordinator', coordinator.url, '--state-dir', stateDir, '--heartbeat-interval', String(intervalSecs), '--name', `bench-agent-${intervalSecs}s`],
    { name: `agent ${intervalSecs}s`, env: { NODEPULSE_ENROLL_TOKEN: BENCH_ENROLL } },
  );
}

/**
 * 6. Agent footprint: `nodepulse agent run` against a coordinator at a 1 s and a 10 s interval,
 * measured side by side with an idle `node -e "setInterval(()=>{},1000)"` (the baseline) over
 * the same window; plus the cost of one facts collection and how long it stalls the event loop.
 */
export const agentBenchmark: Benchmark = {
  name: 'agent',
  title: 'Agent footprint',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const full = ctx.scale === 'full';
    const windowSecs = full ? 60 : 2;
    ctx.log('agent: one facts collection in-process');
    const facts = await measureFactsCollection();
    const coordinators = await Promise.all([
      startCoordinatorChild(ctx.runtime, { args: ['--heartbeat-interval', '1'] }),
      startCoordinatorChild(ctx.runtime, { args: ['--heartbeat-interval', '10'] }),
    ]);
    const idle = spawnProcess(process.execPath, ['-e', 'setInterval(()=>{},1000); console.log("idle ready")'], { name: 'idle node' });
    const agent = agentRuntime();
    const versionMs = versionStartupMs(agent, full ? 9 : 3);
    const agents = [startAgent(agent, coordinators[0] as CoordinatorChild, 1), startAgent(agent, coordinators[1] as CoordinatorChild, 10)];
    const startup = agents.map((proc) => new ProcessMeter(proc.pid));
    for (const meter of startup) meter.start(500);
    try {
      await idle.waitForLine(/idle ready/, 30_000);
      await Promise.all(agents.map((agent) => agent.waitForLine(/"registered"/, 60_000)));
      // Start-up work (first facts, registration, and the full GC V8's memory reducer runs about
      // 8 s after start) is reported apart: the steady window opens after it.
      await sleep(full ? 15_000 : 500);
      const [startFast, startSlow] = startup.map((meter) => meter.stop());
      if (!startFast || !startSlow) throw new Error('missing start-up measurement');
      ctx.log(`agent: measuring both agents and the idle baseline over ${windowSecs}s`);
      const meters = [idle, ...agents].map((proc) => new ProcessMeter(proc.pid));
      for (const meter of meters) meter.start(500);
      await sleep(windowSecs * 1000);
      const [base, fast, slow] = meters.map((meter) => meter.stop());
      if (!base || !fast || !slow) throw new Error('missing measurement');
      for (const agent of agents) if (agent.exitStatus()) throw new Error(`${agent.name} exited: ${agent.output()}`);
      const figures: Figure[] = [
        figure('agent RSS @10s interval', slow.peakRssBytes / MIB, 'MiB', { baseline: base.peakRssBytes / MIB, goal: '<= 1.5x idle node', met: slow.peakRssBytes <= 1.5 * base.peakRssBytes }),
        figure('agent RSS @1s interval', fast.peakRssBytes / MIB, 'MiB', { baseline: base.peakRssBytes / MIB, goal: '<= 1.5x idle node', met: fast.peakRssBytes <= 1.5 * base.peakRssBytes }),
        figure('agent CPU @10s interval', slow.cpuPercent, '% of a core', { baseline: base.cpuPercent, goal: '<= 0.2%', met: slow.cpuPercent <= 0.2 }),
        figure('agent CPU @1s interval', fast.cpuPercent, '% of a core', { baseline: base.cpuPercent, goal: '<= 1%', met: fast.cpuPercent <= 1 }),
        figure('agent start-up: spawn to --version answered', versionMs, 'ms wall'),
        figure('agent CPU from spawn to the steady window @10s', startSlow.cpuMs, 'ms CPU'),
        figure('agent peak RSS from spawn to the steady window @10s', startSlow.peakRssBytes / MIB, 'MiB', { baseline: base.peakRssBytes / MIB }),
        figure('facts collection at start-up (before registering)', facts.cold.wallMs, 'ms wall'),
        figure('facts collection at start-up, CPU', facts.cold.cpuMs, 'ms CPU'),
        figure('longest event-loop stall, start-up collection', facts.cold.maxStallMs, 'ms'),
        figure('facts collection, later (refresh, requested check)', facts.warm.wallMs, 'ms wall'),
        figure('facts collection, later, CPU', facts.warm.cpuMs, 'ms CPU'),
        figure('longest event-loop stall, later collection', facts.warm.maxStallMs, 'ms', {
          baseline: facts.idle.maxStallMs,
          goal: 'never blocks a heartbeat: < 10 ms, or no more than idle',
          met: facts.warm.maxStallMs < Math.max(10, facts.idle.maxStallMs),
        }),
      ];
      return {
        name: 'agent',
        title: this.title,
        command: 'npm run bench -- --only agent --scale full',
        runtime: `agents: ${agent.describe}; coordinators: ${ctx.runtime.describe}; baseline: node -e "setInterval(()=>{},1000)"`,
        figures,
        notes: [
          `Both agents and the idle baseline measured over the same ${windowSecs}s window, opened ${full ? 15 : 0.5}s after the agents registered; CPU from /proc utime+stime, RSS the peak of 500 ms samples. Start-up (spawn to that window) reported apart, in ms of CPU.`,
          'Facts collections measured in the runner process with the agent\'s FactsCollector and system probes; the stall is the longest gap of a 1 ms timer during the collection. The start-up one (si.cpu(), si.osInfo(), a 500 ms cpu sample) ends before the heartbeat loop starts; later ones (slow refresh, requested health check) skip those.',
        ],
        detail: { facts, idle: base, fast, slow, startup: { fast: startFast, slow: startSlow } },
      };
    } finally {
      for (const agent of agents) agent.kill('SIGTERM');
      await Promise.all(agents.map((agent) => agent.waitForExit(15_000).catch(() => agent.kill('SIGKILL'))));
      idle.kill('SIGKILL');
      for (const coordinator of coordinators) await coordinator.stop();
    }
  },
};
