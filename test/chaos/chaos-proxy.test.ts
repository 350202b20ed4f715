/** The fault campaigns' proxy: round-robin with failover, a black-hole cut, a frozen upstream. */
import { type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChaosProxy } from './chaos-proxy.ts';

const servers: Server[] = [];
const proxies: ChaosProxy[] = [];

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function upstream(name: string): Promise<number> {
  const server = createServer((_request, response) => response.end(name));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

/** One GET on a fresh connection: the upstream's name, or the failure. */
function get(port: number, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const started = Date.now();
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
      response.on('error', () => resolve('error'));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(`timeout after ${Date.now() - started >= timeoutMs - 50 ? 'the deadline' : 'too little'}`);
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
    req.end();
  });
}

describe('ChaosProxy', () => {
  it('spreads connections over the upstreams in turn and fails over when one refuses', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const proxy = await ChaosProxy.start('test', [a, b]);
    proxies.push(proxy);
    const answers = [await get(proxy.port), await get(proxy.port), await get(proxy.port), await get(proxy.port)];
    expect(answers.sort()).toEqual(['a', 'a', 'b', 'b']);

    const [serverA] = servers;
    serverA!.closeAllConnections();
    await new Promise<void>((resolve) => serverA!.close(() => resolve()));
    expect([await get(proxy.port), await get(proxy.port), await get(proxy.port)]).toEqual(['b', 'b', 'b']);
    expect(proxy.stats.failovers).toBeGreaterThan(0);
    // Many connections at once: each one still tries every upstream before giving up.
    const burst = await Promise.all(Array.from({ length: 60 }, () => get(proxy.port)));
    expect(burst.filter((answer) => answer !== 'b')).toEqual([]);

    proxy.setUpstreams([a]);
    expect(await get(proxy.port)).toMatch(/^error/);
    expect(proxy.stats.refused).toBe(1);
  });

  it('black-holes a cut (no answer, no reset: the client times out) and forwards again after restore', async () => {
    const proxy = await ChaosProxy.start('test', [await upstream('a')]);
    proxies.push(proxy);
    expect(await get(proxy.port)).toBe('a');
    proxy.cut();
    expect(await get(proxy.port, 500)).toBe('timeout after the deadline');
    expect(proxy.stats.heldDuringCut).toBe(1);
    proxy.restore();
    expect(await get(proxy.port)).toBe('a');
  });

  it('freezes one upstream only: its connections hang, the other one answers', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const proxy = await ChaosProxy.start('test', [a, b]);
    proxies.push(proxy);
    proxy.freeze(b);
    const answers = await Promise.all([get(proxy.port, 500), get(proxy.port, 500), get(proxy.port, 500), get(proxy.port, 500)]);
    expect(answers.sort()).toEqual(['a', 'a', 'timeout after the deadline', 'timeout after the deadline']);
    proxy.thaw(b);
    const after = await Promise.all([get(proxy.port), get(proxy.port)]);
    expect(after.sort()).toEqual(['a', 'b']);
  });
});
