import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { CoordinatorClient, CoordinatorError, readCaBundle, tokenReader } from '../../../src/agent/coordinator-client.ts';
import { ConfigError } from '../../../src/shared/errors.ts';
import { createLogger } from '../../../src/shared/logger.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let lines: string[] = [];
const logger = createLogger({ level: 'debug', component: 'test', pretty: false, stream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
  lines = [];
});

interface Seen {
  url?: string;
  auth?: string;
  body?: unknown;
}

async function serve(status: number, body: unknown, seen: Seen = {}, delayMs = 0): Promise<string> {
  const server = createServer(async (req: IncomingMessage, res) => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    seen.url = req.url;
    seen.auth = req.headers.authorization;
    seen.body = text ? JSON.parse(text) : undefined;
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    }, delayMs);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function failure(promise: Promise<unknown>): Promise<CoordinatorError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CoordinatorError) return error;
    throw error;
  }
  throw new Error('expected a CoordinatorError');
}

describe('coordinator client', () => {
  it('posts JSON to the action endpoint with the bearer token and returns the answer', async () => {
    const seen: Seen = {};
    const url = await serve(200, { nodeId: 'n1', nodeToken: 'npn_secretvalue1', heartbeatIntervalSecs: 10 }, seen);
    const client = new CoordinatorClient({ baseUrl: `${url}/`, requestTimeoutMs: 2_000, logger });
    const answer = await client.register('npe_enrollsecret', { name: 'web-1', identity: 'id' });
    client.close();
    expect(answer.nodeId).toBe('n1');
    expect(seen).toEqual({ url: '/api/v1/actions/invoke/cluster_RegisterNode', auth: 'Bearer npe_enrollsecret', body: { name: 'web-1', identity: 'id' } });
    expect(lines.join('')).toMatch(/"action":"cluster_RegisterNode".*"status":200|"status":200.*cluster_RegisterNode/);
    expect(lines.join('')).not.toMatch(/npe_enrollsecret|npn_secretvalue1/);
  });

  it('carries the error code and marks 5xx and 429 as retryable, 4xx as not', async () => {
    const gone = await serve(410, { error_code: 'NodeTerminated', message: 'register again', details: {} });
    const client = new CoordinatorClient({ baseUrl: gone, requestTimeoutMs: 2_000, logger });
    const error = await failure(client.heartbeat('t', {}));
    expect(error).toMatchObject({ status: 410, errorCode: 'NodeTerminated', retryable: false });
    expect(error.message).toMatch(/register again/);
    const busy = new CoordinatorClient({ baseUrl: await serve(503, { error_code: 'StoreUnavailable', message: '', details: {} }), requestTimeoutMs: 2_000, logger });
    expect(await failure(busy.heartbeat('t', {}))).toMatchObject({ status: 503, retryable: true });
    const limited = new CoordinatorClient({ baseUrl: await serve(429, {}), requestTimeoutMs: 2_000, logger });
    expect(await failure(limited.heartbeat('t', {}))).toMatchObject({ status: 429, retryable: true });
    for (const c of [client, busy, limited]) c.close();
  });

  it('treats a refused connection and a timeout as retryable network failures', async () => {
    const refused = new CoordinatorClient({ baseUrl: 'http://127.0.0.1:1', requestTimeoutMs: 2_000, logger });
    expect(await failure(refused.heartbeat('t', {}))).toMatchObject({ status: undefined, retryable: true });
    const slow = new CoordinatorClient({ baseUrl: await serve(200, {}, {}, 1_000), requestTimeoutMs: 100, logger });
    const started = Date.now();
    expect(await failure(slow.deregister('t', { reason: 'Shutdown' }, 100))).toMatchObject({ retryable: true });
    expect(Date.now() - started).toBeLessThan(900);
    refused.close();
    slow.close();
  });

  it('reads the token from a file on every call, so a rotated token is picked up', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'np-token-')), 'token');
    writeFileSync(file, 'first\n');
    const read = tokenReader({ tokenFile: file });
    expect(read()).toBe('first');
    writeFileSync(file, 'second\n');
    expect(read()).toBe('second');
    expect(tokenReader({ token: 'env-token' })()).toBe('env-token');
  });

  it('trusts an https coordinator signed by the configured CA bundle, and refuses it without', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'np-tls-'));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    expect(made.status).toBe(0);
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    servers.push(server as unknown as Server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const trusted = new CoordinatorClient({ baseUrl: url, requestTimeoutMs: 5_000, ca: readCaBundle(join(dir, 'cert.pem')), logger });
    expect(await trusted.heartbeat('t', {})).toEqual({});
    const untrusted = new CoordinatorClient({ baseUrl: url, requestTimeoutMs: 5_000, logger });
    expect((await failure(untrusted.heartbeat('t', {}))).message).toMatch(/self.signed|certificate/i);
    trusted.close();
    untrusted.close();
  });

  it('reports a missing or malformed caFile as a config error naming the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'np-ca-'));
    const configError = (file: string) => {
      try {
        readCaBundle(file);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      throw new Error('expected a ConfigError');
    };
    expect(configError(join(dir, 'missing.pem'))).toEqual([`caFile: cannot read ${join(dir, 'missing.pem')}: ENOENT`]);
    writeFileSync(join(dir, 'notes.txt'), 'not a certificate\n');
    expect(configError(join(dir, 'notes.txt'))).toEqual([`caFile: ${join(dir, 'notes.txt')} is not a PEM CA bundle (no PEM certificate in it)`]);
    writeFileSync(join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    expect(configError(join(dir, 'broken.pem'))[0]).toMatch(/^caFile: .*broken\.pem is not a PEM CA bundle/);
    expect(readCaBundle(undefined)).toBeUndefined();
  });
});
