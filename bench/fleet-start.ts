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

/**
 * 7. Fleet start: N agents started at the same instant, each driven by the agent's own
 * HeartbeatLoop (phase offset from its identity, registration as the first beat), against a real
 * coordinator in this process that counts the requests it receives per second. Baseline: the
 * same agents with no phase spreading (a heartbeat every interval after their registration),
 * computed from the measured registration times.
 */
export const fleetStartBenchmark: Benchmark = {
  name: 'fleet-start',
  title: 'Fleet start (phase spreading)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const full = ctx.scale === 'full';
    const count = full ? 1_000 : 100;
    const intervalSecs = full ? 10 : 1;
    const intervalMs = intervalSecs * 1000;
    const harness = await createInProcessCoordinator(join(makeTempDir('nodepulse-bench-'), 'nodepulse.db'), systemClock, {
      heartbeatInterval: intervalSecs,
    });
    const { app } = harness.coordinator;
    const registrations: number[] = [];
    const heartbeats: number[] = [];
    app.addHook('onRequest', async (req) => {
      if (req.url.endsWith('cluster_RegisterNode')) registrations.push(Date.now());
      else if (req.url.endsWith('cluster_ReportNodeHeartbeat')) heartbeats.push(Date.now());
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    harness.coordinator.start();
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const http = new HttpAgent({ keepAlive: true, maxSockets: 100 });
    const registeredAt: number[] = [];
    let failures = 0;
    const loops = Array.from({ length: count }, (_, i) => {
      let token: string | undefined;
      const identity = `bench-fleet-${i}`;
      return new HeartbeatLoop({
        intervalMs,
        phaseKey: identity,
        retry: { baseMs: 200, capMs: 2000 },
        slowRetry: { baseMs: 2000, capMs: 5000, jitter: 'equal' },
        beat: async () => {
          if (!token) {
            const answer = await post(http, port, 'cluster_RegisterNode', BENCH_ENROLL, JSON.stringify({ hostname: identity, identity }));
            if (answer.status !== 200) {
              failures += 1;
              return { kind: 'retry' };
            }
            token = (JSON.parse(answer.body) as { nodeToken: string }).nodeToken;
            registeredAt.push(Date.now());
            return { kind: 'ok' };
          }
          const answer = await post(http, port, 'cluster_ReportNodeHeartbeat', token, '{}');
          if (answer.status !== 200) failures += 1;
          return answer.status === 200 ? { kind: 'ok' } : { kind: 'retry' };
        },
      });
    });
    const t0 = Date.now();
    try {
      ctx.log(`fleet-start: ${count} agents started at once, interval ${intervalSecs}s; watching ${3 * intervalSecs}s`);
      for (const loop of loops) loop.start();
      await sleep(3 * intervalMs + 500);
    } finally {
      await Promise.all(loops.map((loop) => loop.stop()));
      http.destroy();
      await harness.close();
    }
    const seconds = 2 * intervalSecs;
    // Steady phase: the two intervals after the first (registrations are over, every node is on its slot).
    const steady = histogram(heartbeats, t0 + intervalMs, seconds);
    const fromStart = histogram([...registrations, ...heartbeats], t0, seconds);
    const naiveTimes = registeredAt.flatMap((at) => [1, 2, 3].map((k) => at + k * intervalMs));
    const naive = histogram(naiveTimes, t0 + intervalMs, seconds);
    const steadyFlat = flatness(steady);
    const startFlat = flatness(fromStart);
    const naiveFlat = flatness(naive);
    return {
      name: 'fleet-start',
      title: this.title,
      command: 'npm run bench -- --only fleet-start --scale full',
      runtime: `in-process: createCoordinator + SqliteStore (temp file) listening on 127.0.0.1; ${count} HeartbeatLoop instances (src/agent/heartbeat-loop.ts) over keep-alive HTTP`,
      figures: [
        figure('heartbeats/s max/mean, 2 intervals after the first', steadyFlat.ratio, 'x', { baseline: naiveFlat.ratio, goal: '<= 2x mean', met: steadyFlat.ratio <= 2 }),
        figure('heartbeats/s max, 2 intervals after the first', steadyFlat.max, 'req/s', { baseline: naiveFlat.max }),
        figure('heartbeats/s mean, 2 intervals after the first', steadyFlat.mean, 'req/s', { baseline: naiveFlat.mean }),
        figure('all requests/s max/mean, first 2 intervals (registrations included)', startFlat.ratio, 'x', { goal: '<= 2x mean', met: startFlat.ratio <= 2 }),
        figure('registrations in the first second', histogram(registrations, t0, 1)[0] ?? 0, `of ${count}`),
        figure('failed requests', failures, 'requests', { goal: '0', met: failures === 0 }),
      ],
      notes: [
        `${count} agents started in the same millisecond; each registers at once (its first beat), then heartbeats on its phase slot (offset from its identity).`,
        'Baseline: the same registrations followed by a heartbeat every interval from the registration (no phase offset), computed from the measured registration times.',
      ],
      detail: { steady, fromStart, naive, registrations: registrations.length, heartbeats: heartbeats.length },
    };
  },
};
