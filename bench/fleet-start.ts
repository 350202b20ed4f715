import { Agent as HttpAgent, request } from 'node:http';
import { join } from 'node:path';
import { HeartbeatLoop } from '../src/agent/heartbeat-loop.ts';
import { systemClock } from '../src/shared/clock.ts';
import { makeTempDir } from '../test/helpers/spawn-process.ts';
import { ACTION, BENCH_ENROLL } from './lib/coordinator-child.ts';
import { createInProcessCoordinator } from './lib/in-process.ts';
import { sleep } from './lib/proc-stats.ts';
import { type BenchContext, type BenchResult, type Benchmark, figure } from './lib/types.ts';

function post(agent: HttpAgent, port: number, action: string, token: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: `${ACTION}${action}`, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Per-second counts over [from, from + seconds) of times given in ms. */
function histogram(times: readonly number[], from: number, seconds: number): number[] {
  const counts = new Array<number>(seconds).fill(0);
  for (const at of times) {
    const bucket = Math.floor((at - from) / 1000);
    if (bucket >= 0 && bucket < seconds) counts[bucket] = (counts[bucket] ?? 0) + 1;
  }
  return counts;
}

function flatness(counts: readonly number[]): { max: number; mean: number; ratio: number } {
  const mean = counts.reduce((sum, count) => sum + count, 0) / Math.max(1, counts.length);
  const max = Math.max(0, ...counts);
  return { max, mean, ratio: mean > 0 ? max / mean : Number.NaN };
}

interface FleetRun {
  t0: number;
  registrations: number[];
  heartbeats: number[];
  registeredAt: number[];
  failures: number;
}

/** One fleet of `count` HeartbeatLoops started in the same millisecond against a fresh coordinator, watched for three intervals. */
async function runFleet(count: number, intervalMs: number, startupDelayMs: number): Promise<FleetRun> {
  const harness = await createInProcessCoordinator(join(makeTempDir('nodepulse-bench-'), 'nodepulse.db'), systemClock, {
    heartbeatInterval: intervalMs / 1000,
  });
  const { app } = harness.coordinator;
  const run: FleetRun = { t0: 0, registrations: [], heartbeats: [], registeredAt: [], failures: 0 };
  app.addHook('onRequest', async (req) => {
    if (req.url.endsWith('cluster_RegisterNode')) run.registrations.push(Date.now());
    else if (req.url.endsWith('cluster_ReportNodeHeartbeat')) run.heartbeats.push(Date.now());
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  await harness.coordinator.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const http = new HttpAgent({ keepAlive: true, maxSockets: 100 });
  const loops = Array.from({ length: count }, (_, i) => {
    let token: string | undefined;
    const identity = `bench-fleet-${i}`;
    return new HeartbeatLoop({
      intervalMs,
      phaseKey: identity,
      startupDelayMs,
      retry: { baseMs: 200, capMs: 2000 },
      slowRetry: { baseMs: 2000, capMs: 5000, jitter: 'equal' },
      beat: async () => {
        if (!token) {
          const answer = await post(http, port, 'cluster_RegisterNode', BENCH_ENROLL, JSON.stringify({ hostname: identity, identity }));
          if (answer.status !== 200) {
            run.failures += 1;
            return { kind: 'retry' };
          }
          token = (JSON.parse(answer.body) as { nodeToken: string }).nodeToken;
          run.registeredAt.push(Date.now());
          return { kind: 'ok' };
        }
        const answer = await post(http, port, 'cluster_ReportNodeHeartbeat', token, '{}');
        if (answer.status !== 200) run.failures += 1;
        return answer.status === 200 ? { kind: 'ok' } : { kind: 'retry' };
      },
    });
  });
  run.t0 = Date.now();
  try {
    for (const loop of loops) loop.start();
    await sleep(3 * intervalMs + 500);
  } finally {
    await Promise.all(loops.map((loop) => loop.stop()));
    http.destroy();
    await harness.close();
  }
  return run;
}

/**
 * 7. Fleet start: N agents started at the same instant, each driven by the agent's own
 * HeartbeatLoop (start-up delay and phase offset from its identity, registration as the first
 * beat), against a real coordinator in this process that counts the requests it receives per
 * second. Baselines: the same fleet with no start-up delay (measured), and for the steady
 * heartbeats a heartbeat every interval from each registration (no phase offset, computed).
 */
export const fleetStartBenchmark: Benchmark = {
  name: 'fleet-start',
  title: 'Fleet start (phase spreading)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const full = ctx.scale === 'full';
    const count = full ? 1_000 : 100;
    const intervalSecs = full ? 10 : 1;
    const intervalMs = intervalSecs * 1000;
    ctx.log(`fleet-start: ${count} agents started at once, interval ${intervalSecs}s, start-up delay up to one interval; watching ${3 * intervalSecs}s`);
    const spread = await runFleet(count, intervalMs, intervalMs);
    ctx.log(`fleet-start: the same fleet with start-up delay 0; watching ${3 * intervalSecs}s`);
    const burst = await runFleet(count, intervalMs, 0);
    const seconds = 2 * intervalSecs;
    // From the start: registrations and heartbeats together, the load the coordinator sees.
    const fromStart = (run: FleetRun) => flatness(histogram([...run.registrations, ...run.heartbeats], run.t0, seconds));
    // Steady phase: the two intervals after the first (registrations are over, every node is on its slot).
    const steady = (run: FleetRun) => flatness(histogram(run.heartbeats, run.t0 + intervalMs, seconds));
    const naiveTimes = burst.registeredAt.flatMap((at) => [1, 2, 3].map((k) => at + k * intervalMs));
    const naive = flatness(histogram(naiveTimes, burst.t0 + intervalMs, seconds));
    const [start, startBurst, steadySpread] = [fromStart(spread), fromStart(burst), steady(spread)];
    const firstSecond = (run: FleetRun) => histogram(run.registrations, run.t0, 1)[0] ?? 0;
    const failures = spread.failures + burst.failures;
    return {
      name: 'fleet-start',
      title: this.title,
      command: 'npm run bench -- --only fleet-start --scale full',
      runtime: `in-process: createCoordinator + SqliteStore (temp file) listening on 127.0.0.1; ${count} HeartbeatLoop instances (src/agent/heartbeat-loop.ts) over keep-alive HTTP`,
      figures: [
        figure('all requests/s max/mean, first 2 intervals (registrations included)', start.ratio, 'x', { baseline: startBurst.ratio, goal: '<= 2x mean', met: start.ratio <= 2 }),
        figure('all requests/s max, first 2 intervals', start.max, 'req/s', { baseline: startBurst.max }),
        figure('registrations in the first second', firstSecond(spread), `of ${count}`, { baseline: firstSecond(burst) }),
        figure('heartbeats/s max/mean, 2 intervals after the first', steadySpread.ratio, 'x', { baseline: naive.ratio, goal: '<= 2x mean', met: steadySpread.ratio <= 2 }),
        figure('heartbeats/s mean, 2 intervals after the first', steadySpread.mean, 'req/s', { baseline: naive.mean }),
        figure('failed requests (both runs)', failures, 'requests', { goal: '0', met: failures === 0 }),
      ],
      notes: [
        `${count} agents started in the same millisecond; each waits until its own phase slot (offset from its identity, at most one interval: the agent's default startupDelay), registers, then heartbeats on that slot.`,
        'Baseline of the start figures: the same fleet with startupDelay 0 (every agent registers at once), measured in the same run.',
        'Baseline of the heartbeat figures: a heartbeat every interval from each registration of the startupDelay 0 run (no phase offset), computed from the measured registration times.',
      ],
      detail: {
        spread: { fromStart: histogram([...spread.registrations, ...spread.heartbeats], spread.t0, seconds), steady: histogram(spread.heartbeats, spread.t0 + intervalMs, seconds) },
        burst: { fromStart: histogram([...burst.registrations, ...burst.heartbeats], burst.t0, seconds) },
      },
    };
  },
};
