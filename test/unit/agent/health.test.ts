import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CheckConfig } from '../../../src/agent/config.ts';
import { commandCheck, runCheck, truncate } from '../../../src/agent/health/checks.ts';
import { worstStatus } from '../../../src/agent/health/health-report.ts';
import { HealthRunner } from '../../../src/agent/health/health-runner.ts';
import { createLogger } from '../../../src/shared/logger.ts';
import { Writable } from 'node:stream';

const GIB = 1024 ** 3;
const deps = { readMemory: async () => ({ totalBytes: 4 * GIB, availableBytes: 1 * GIB }), outputLimit: 200 };
const logger = createLogger({ level: 'error', component: 'test', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function httpServer(status: number): Promise<string> {
  const server = createHttpServer((_req, res) => {
    res.statusCode = status;
    res.end('x');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
}

describe('health checks', () => {
  it('command: exit 0 passes, 1 warns, other codes are critical, output is captured', async () => {
    expect(await commandCheck(['sh', '-c', 'echo fine'], 5_000, 200)).toEqual({ status: 'passing', output: 'fine' });
    expect((await commandCheck(['sh', '-c', 'echo meh; exit 1'], 5_000, 200)).status).toBe('warning');
    expect(await commandCheck(['sh', '-c', 'echo bad >&2; exit 3'], 5_000, 200)).toEqual({ status: 'critical', output: 'bad' });
    expect((await commandCheck(['/no/such/binary'], 5_000, 200)).status).toBe('critical');
  });

  it('command: a command that outlives its timeout is killed and critical', async () => {
    const started = Date.now();
    const result = await commandCheck(['sleep', '30'], 200, 200);
    expect(result.status).toBe('critical');
    expect(result.output).toMatch(/timed out after 200 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('command: long output is truncated to the limit', async () => {
    const result = await commandCheck(['sh', '-c', 'head -c 5000 /dev/zero | tr "\\0" a'], 5_000, 100);
    expect(result.output.length).toBeLessThanOrEqual(100);
    expect(result.output).toMatch(/\[truncated\]$/);
    expect(truncate('short', 100)).toBe('short');
  });

  it('http: a 2xx passes, a 500 is critical, and an expected status is honoured', async () => {
    const ok: CheckConfig = { name: 'web', type: 'http', url: await httpServer(200) };
    expect((await runCheck(ok, deps)).status).toBe('passing');
    const broken: CheckConfig = { name: 'web', type: 'http', url: await httpServer(500) };
    expect(await runCheck(broken, deps)).toMatchObject({ status: 'critical', output: expect.stringMatching(/500/) });
    const noContent: CheckConfig = { name: 'web', type: 'http', url: await httpServer(204), expectedStatus: 204 };
    expect((await runCheck(noContent, deps)).status).toBe('passing');
  });

  it('tcp: a listening port passes, a closed one is critical', async () => {
    const server = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    expect((await runCheck({ name: 't', type: 'tcp', host: '127.0.0.1', port }, deps)).status).toBe('passing');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect((await runCheck({ name: 't', type: 'tcp', host: '127.0.0.1', port }, deps)).status).toBe('critical');
  });

  it('disk: compares free space with the thresholds', async () => {
    expect((await runCheck({ name: 'd', type: 'disk', path: '/', minFreePercent: 0, warnFreePercent: 0 }, deps)).status).toBe('passing');
    expect((await runCheck({ name: 'd', type: 'disk', path: '/', minFreePercent: 100 }, deps)).status).toBe('critical');
    expect((await runCheck({ name: 'd', type: 'disk', path: '/no/such/mount' }, deps)).status).toBe('critical');
  });

  it('memory: warns and fails on available memory (25% here)', async () => {
    expect((await runCheck({ name: 'm', type: 'memory', minAvailablePercent: 10, warnAvailablePercent: 20 }, deps)).status).toBe('passing');
    expect((await runCheck({ name: 'm', type: 'memory', minAvailablePercent: 10, warnAvailablePercent: 30 }, deps)).status).toBe('warning');
    expect((await runCheck({ name: 'm', type: 'memory', minAvailablePercent: 30 }, deps)).status).toBe('critical');
  });
});

describe('health runner', () => {
  it('reports the worst check as the node health', async () => {
    expect(worstStatus(['passing', 'warning', 'passing'])).toBe('warning');
    expect(worstStatus(['warning', 'critical'])).toBe('critical');
    const checks: CheckConfig[] = [
      { name: 'ok', type: 'command', command: ['true'] },
      { name: 'bad', type: 'command', command: ['false'] },
    ];
    const runner = new HealthRunner(checks, { deps, logger });
    const report = await runner.runAll();
    expect(report).toEqual({ status: 'warning', checks: [{ name: 'ok', status: 'passing', output: 'exit 0' }, { name: 'bad', status: 'warning', output: 'exit 1' }] });
  });

  it('turns a hanging check into a critical result after its timeout', async () => {
    const runner = new HealthRunner([{ name: 'hang', type: 'tcp', host: 'x', port: 1, timeout: 0.1 }], {
      deps,
      logger,
      run: () => new Promise(() => {}),
    });
    const report = await runner.runAll();
    expect(report?.checks[0]).toEqual({ name: 'hang', status: 'critical', output: 'timed out after 100 ms' });
  });

  it('does not start a check again while its timed-out run has not returned, and reports it critical', async () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      let answer: (() => void) | undefined;
      const runner = new HealthRunner([{ name: 'nfs', type: 'disk', path: '/mnt/nfs', interval: 1, timeout: 0.1 }], {
        deps,
        logger,
        run: () => {
          calls += 1;
          return new Promise((resolve) => (answer = () => resolve({ status: 'passing', output: 'answered at last' })));
        },
      });
      runner.start();
      await vi.advanceTimersByTimeAsync(10_050);
      expect(calls).toBe(1);
      expect(runner.runCount).toBe(11);
      expect(runner.report()?.checks[0]).toEqual({
        name: 'nfs',
        status: 'critical',
        output: 'timed out: the run started 10000 ms ago has not returned; not started again until it does',
      });
      answer?.();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(calls).toBe(2);
      runner.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('turns a check that throws into a critical result', async () => {
    const runner = new HealthRunner([{ name: 'broken', type: 'memory' }], {
      deps,
      logger,
      run: () => {
        throw new Error('probe exploded');
      },
    });
    expect((await runner.runAll())?.checks[0]).toEqual({ name: 'broken', status: 'critical', output: 'probe exploded' });
  });

  it('runs a cron-scheduled check with node-cron', async () => {
    let runs = 0;
    const runner = new HealthRunner([{ name: 'every-second', type: 'memory', cron: '* * * * * *' }], {
      deps,
      logger,
      run: async () => {
        runs += 1;
        return { status: 'passing', output: '' };
      },
    });
    runner.start();
    const deadline = Date.now() + 5_000;
    while (runs < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    runner.stop();
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runner.runCount).toBe(runs);
  });

  it('has no report without checks', async () => {
    expect(await new HealthRunner([], { deps, logger }).runAll()).toBeUndefined();
  });
});
