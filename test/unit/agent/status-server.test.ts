import { afterEach, describe, expect, it } from 'vitest';
import { type AgentStatusReport, statusReport } from '../../../src/agent/agent-status.ts';
import { StatusServer, parseListenAddress } from '../../../src/agent/status-server.ts';
import { ConfigError } from '../../../src/shared/errors.ts';

const NOW = Date.UTC(2026, 0, 1);

/** A report whose next attempt is due at `nextAttemptAt` (5 s request timeout), judged at NOW. */
function report(nextAttemptAt: number | undefined): AgentStatusReport {
  return statusReport(
    {
      version: '0.1.0',
      pid: 1,
      identity: 'id-1',
      coordinator: 'http://x',
      startedAt: NOW - 60_000,
      nodeId: 'node-1',
      connection: 'connected',
      lastAttempt: { kind: 'heartbeat', outcome: 'ok', at: NOW - 10_000 },
      lastAcceptedAt: NOW - 10_000,
      nextAttemptAt,
      failures: 0,
      backoffMs: 0,
      intervalMs: 15_000,
      requestTimeoutMs: 5_000,
      health: undefined,
    },
    NOW,
  );
}

const servers: StatusServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function serve(status: () => AgentStatusReport): Promise<number> {
  const server = new StatusServer(status);
  servers.push(server);
  return (await server.start({ host: '127.0.0.1', port: 0 })).port;
}

describe('status endpoint', () => {
  it('answers /healthz 200 while the next attempt is due within a request timeout, 503 once it is overdue', async () => {
    let current = report(NOW + 5_000);
    const port = await serve(() => current);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // Overdue by more than the request timeout (5 s) and the late-timer slack (2 s): the loop is stuck.
    current = report(NOW - 7_001);
    const stuck = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(stuck.status).toBe(503);
    expect(await stuck.json()).toEqual({ healthy: false, connection: 'connected' });
    current = report(undefined);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(503);
  });

  it('answers /status with the whole report, and 404 elsewhere', async () => {
    const port = await serve(() => report(NOW + 5_000));
    const status = await fetch(`http://127.0.0.1:${port}/status`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ registered: true, nodeId: 'node-1', coordinatorReachable: true, healthy: true });
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
  });

  it('names statusListen when its address is taken', async () => {
    const port = await serve(() => report(NOW));
    const second = new StatusServer(() => report(NOW));
    await expect(second.start({ host: '127.0.0.1', port })).rejects.toThrow(ConfigError);
    await expect(second.start({ host: '127.0.0.1', port })).rejects.toThrow(/statusListen: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
  });

  it('reads HOST:PORT and [IPv6]:PORT', () => {
    expect(parseListenAddress('127.0.0.1:8421')).toEqual({ host: '127.0.0.1', port: 8421 });
    expect(parseListenAddress('[::1]:8421')).toEqual({ host: '::1', port: 8421 });
    expect(() => parseListenAddress('8421')).toThrow(/statusListen/);
  });
});
