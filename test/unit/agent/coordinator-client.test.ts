import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CoordinatorClient,
  CoordinatorError,
  InvalidAnswerError,
  MAX_ANSWER_BYTES,
  TlsFailureError,
  readCaBundle,
  readClientCertificate,
  tokenReader,
} from '../../../src/agent/coordinator-client.ts';
import { configProblems } from '../../helpers/config-problems.ts';
import { makeTempDir, removeTempDirs, waitFor } from '../../helpers/spawn-process.ts';
import { ManualClock } from '../../../src/shared/clock.ts';
import { createLogger } from '../../../src/shared/logger.ts';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { type CertFiles, makeTestCertificates } from '../../helpers/test-certificates.ts';

let lines: string[] = [];
const logger = createLogger({ level: 'debug', component: 'test', pretty: false, stream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
  lines = [];
  removeTempDirs();
});

interface Seen {
  url?: string;
  auth?: string;
  body?: unknown;
}

/** A local server answering every request with `answer`; resolves with its URL. */
async function listen(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(answer);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function serve(status: number, body: unknown, seen: Seen = {}, delayMs = 0): Promise<string> {
  return listen(async (req, res) => {
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
}

/** Answers every request with `body` as it is (not JSON-encoded), with these headers. */
function serveRaw(status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<string> {
  return listen((req, res) => {
    req.resume();
    res.writeHead(status, headers);
    res.end(body);
  });
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

  it('carries the error code and marks 5xx, 429 and 408 as retryable, other 4xx as not', async () => {
    const gone = await serve(410, { error_code: 'NodeTerminated', message: 'register again', details: {} });
    const client = new CoordinatorClient({ baseUrl: gone, requestTimeoutMs: 2_000, logger });
    const error = await failure(client.heartbeat('t', {}));
    expect(error).toMatchObject({ status: 410, errorCode: 'NodeTerminated', retryable: false });
    expect(error.message).toMatch(/register again/);
    const busy = new CoordinatorClient({ baseUrl: await serve(503, { error_code: 'StoreUnavailable', message: '', details: {} }), requestTimeoutMs: 2_000, logger });
    expect(await failure(busy.heartbeat('t', {}))).toMatchObject({ status: 503, retryable: true });
    const limited = new CoordinatorClient({ baseUrl: await serve(429, {}), requestTimeoutMs: 2_000, logger });
    expect(await failure(limited.heartbeat('t', {}))).toMatchObject({ status: 429, retryable: true });
    // The coordinator gave up receiving a request that came too slowly: the network, not the agent.
    const slowLink = new CoordinatorClient({ baseUrl: await serve(408, { error_code: 'RequestTimeout', message: '', details: {} }), requestTimeoutMs: 2_000, logger });
    expect(await failure(slowLink.heartbeat('t', {}))).toMatchObject({ status: 408, retryable: true });
    for (const c of [client, busy, limited, slowLink]) c.close();
  });

  it('turns a Retry-After date into a delay on its own clock', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1, 12, 0, 0));
    const retryAt = new Date(Date.UTC(2030, 0, 1, 12, 0, 40)).toUTCString();
    const busy = new CoordinatorClient({ baseUrl: await serveRaw(503, '{}', { 'retry-after': retryAt }), requestTimeoutMs: 2_000, logger, clock });
    expect(await failure(busy.heartbeat('t', {}))).toMatchObject({ status: 503, retryAfterMs: 40_000 });
    busy.close();
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

  it('refuses a 2xx answer that is not the protocol\'s: retryable, naming the URL and what is wrong, never a value in it', async () => {
    const register = [
      { body: '<html><body>It works!</body></html>', type: 'text/html', problem: /HTTP 200 \(text\/html, 35 bytes\) with something that is not a RegisterNodeResponse: the body is not JSON$/ },
      { body: '', type: 'application/json', problem: /RegisterNodeResponse: the body is empty/ },
      { body: 'null', type: 'application/json', problem: /RegisterNodeResponse: \(root\): Expected object/ },
      { body: '{}', type: 'application/json', problem: /RegisterNodeResponse: \/nodeId: Expected required property; \/nodeToken: Expected required property/ },
      { body: '{"nodeId":"n1","heartbeatIntervalSecs":10}', type: 'application/json', problem: /RegisterNodeResponse: \/nodeToken: Expected required property$/ },
      { body: '{"nodeId":"n1","nodeToken":"npn_secretvalue1","heartbeatIntervalSecs":0}', type: 'application/json', problem: /\/heartbeatIntervalSecs: Expected integer to be greater or equal to 1$/ },
      { body: '{"nodeId":"n1","nodeToken":"npn_secretvalue1","heartbeatIntervalSecs":10,"retryMaxDelaySecs":31536000}', type: 'application/json', problem: /\/retryMaxDelaySecs: Expected integer to be less or equal to 3600$/ },
    ];
    for (const { body, type, problem } of register) {
      const url = await serveRaw(200, body, { 'content-type': type });
      const client = new CoordinatorClient({ baseUrl: url, requestTimeoutMs: 2_000, logger });
      const error = await failure(client.register('npe_enrollsecret', { name: 'web-1' }));
      client.close();
      expect(error, body).toBeInstanceOf(InvalidAnswerError);
      expect(error, body).toMatchObject({ status: 200, retryable: true });
      expect(error.message, body).toContain(`cluster_RegisterNode: ${url} answered HTTP 200`);
      expect(error.message, body).toMatch(problem);
      expect(error.message).not.toMatch(/npn_secretvalue1|npe_enrollsecret/);
    }
    const heartbeat = new CoordinatorClient({ baseUrl: await serveRaw(200, '[1,2]'), requestTimeoutMs: 2_000, logger });
    expect((await failure(heartbeat.heartbeat('t', {}))).message).toMatch(/not a HeartbeatResponse: \(root\): Expected object/);
    const farInterval = new CoordinatorClient({ baseUrl: await serveRaw(200, '{"heartbeatIntervalSecs":100000000}'), requestTimeoutMs: 2_000, logger });
    expect((await failure(farInterval.heartbeat('t', {}))).message).toMatch(/\/heartbeatIntervalSecs: Expected integer to be less or equal to 3600/);
    const deregister = new CoordinatorClient({ baseUrl: await serveRaw(200, '"bye"'), requestTimeoutMs: 2_000, logger });
    expect(await failure(deregister.deregister('t', {}, 2_000))).toBeInstanceOf(InvalidAnswerError);
    for (const c of [heartbeat, farInterval, deregister]) c.close();
    expect(lines.join('')).not.toMatch(/npn_secretvalue1|npe_enrollsecret/);
  });

  it('believes an error body only in the documented shape; otherwise the status alone speaks', async () => {
    const proxy = new CoordinatorClient({ baseUrl: await serveRaw(502, '<html>Bad Gateway</html>', { 'content-type': 'text/html' }), requestTimeoutMs: 2_000, logger });
    const bad = await failure(proxy.heartbeat('t', {}));
    expect(bad).toMatchObject({ status: 502, errorCode: undefined, retryable: true, details: {} });
    expect(bad.message).toBe('cluster_ReportNodeHeartbeat: HTTP 502: Bad Gateway (the body is not a coordinator error)');
    const partial = new CoordinatorClient({ baseUrl: await serveRaw(409, '{"error_code":"HostnameInUse","message":"taken"}'), requestTimeoutMs: 2_000, logger });
    expect(await failure(partial.register('t', {}))).toMatchObject({ status: 409, errorCode: undefined, retryable: false });
    const shaped = new CoordinatorClient({
      baseUrl: await serveRaw(409, '{"error_code":"HostnameInUse","message":"taken","details":{"hostname":"web-1"}}'),
      requestTimeoutMs: 2_000,
      logger,
    });
    expect(await failure(shaped.register('t', {}))).toMatchObject({ status: 409, errorCode: 'HostnameInUse', details: { hostname: 'web-1' } });
    for (const c of [proxy, partial, shaped]) c.close();
  });

  it('stops reading an answer larger than the limit long before it is whole, announced or not', async () => {
    const FIFTY_MIB = 50 * 1024 * 1024;
    for (const announced of [false, true]) {
      const sent = { bytes: 0, closed: false };
      const url = await listen((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json', ...(announced ? { 'content-length': String(FIFTY_MIB) } : {}) });
        res.on('close', () => (sent.closed = true));
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (!sent.closed && sent.bytes < FIFTY_MIB) {
            sent.bytes += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      });
      const client = new CoordinatorClient({ baseUrl: url, requestTimeoutMs: 10_000, logger });
      const error = await failure(client.heartbeat('t', {}));
      client.close();
      expect(error).toBeInstanceOf(InvalidAnswerError);
      expect(error).toMatchObject({ status: 200, retryable: true });
      expect(error.message).toBe(`cluster_ReportNodeHeartbeat: ${url} answered HTTP 200 with more than 64 KiB; the agent stopped reading it (real answers are a few hundred bytes)`);
      await waitFor(() => sent.closed, 10_000, { message: 'the connection is closed' });
      // What the socket buffers took in before the agent hung up, not the 50 MiB.
      expect(sent.bytes, announced ? 'announced' : 'chunked').toBeLessThan(16 * 1024 * 1024);
    }
    const padded = JSON.stringify({ healthCheckRequested: false, padding: 'x'.repeat(MAX_ANSWER_BYTES - 100) });
    const near = new CoordinatorClient({ baseUrl: await serveRaw(200, padded), requestTimeoutMs: 2_000, logger });
    expect(await near.heartbeat('t', {})).toMatchObject({ healthCheckRequested: false });
    near.close();
  });

  it('carries the wait a 429 or 503 asks for in Retry-After (seconds or an HTTP date), and no other status\'s', async () => {
    const busy = { error_code: 'StoreUnavailable', message: 'try later', details: {} };
    const client = async (status: number, retryAfter: string) =>
      new CoordinatorClient({ baseUrl: await serveRaw(status, JSON.stringify(busy), { 'content-type': 'application/json', 'retry-after': retryAfter }), requestTimeoutMs: 2_000, logger });
    const limited = await client(429, '7');
    const limitedError = await failure(limited.heartbeat('t', {}));
    expect(limitedError).toMatchObject({ status: 429, retryable: true, retryAfterMs: 7_000 });
    expect(limitedError.message).toMatch(/\(Retry-After: 7 s\)$/);
    const unavailable = await client(503, new Date(Date.now() + 30_000).toUTCString());
    const waitMs = (await failure(unavailable.register('t', {}))).retryAfterMs;
    expect(waitMs).toBeGreaterThan(28_000);
    expect(waitMs).toBeLessThanOrEqual(30_000);
    const broken = await client(500, '7');
    expect(await failure(broken.heartbeat('t', {}))).toMatchObject({ status: 500, retryAfterMs: undefined });
    const garbled = await client(503, 'soon');
    expect(await failure(garbled.heartbeat('t', {}))).toMatchObject({ status: 503, retryAfterMs: undefined });
    for (const c of [limited, unavailable, broken, garbled]) c.close();
  });

  it('reads the token from a file on every call, so a rotated token is picked up', () => {
    const file = join(makeTempDir('np-token-'), 'token');
    writeFileSync(file, 'first\n');
    const read = tokenReader({ tokenFile: file });
    expect(read()).toBe('first');
    writeFileSync(file, 'second\n');
    expect(read()).toBe('second');
    expect(tokenReader({ token: 'env-token' })()).toBe('env-token');
  });

  it('trusts an https coordinator signed by the configured CA bundle, and refuses it without', async () => {
    const dir = makeTempDir('np-tls-');
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

  it('names the coordinator URL, the TLS reason and what to do when a handshake fails, and presents its client certificate', async () => {
    const certs = makeTestCertificates(makeTempDir('np-tls-'));
    const ca = readCaBundle(certs.ca);
    const serveTls = async (files: CertFiles, clientCa?: string) => {
      const mutual = clientCa ? { ca: readFileSync(clientCa), requestCert: true, rejectUnauthorized: true } : {};
      const server = createHttpsServer({ cert: readFileSync(files.cert), key: readFileSync(files.key), ...mutual }, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
      servers.push(server as unknown as Server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const refusals = [
      { files: certs.selfSigned, code: 'DEPTH_ZERO_SELF_SIGNED_CERT', advice: /not signed by a CA the agent trusts.*--ca-file/ },
      { files: certs.wrongHost, code: 'ERR_TLS_CERT_ALTNAME_INVALID', advice: /not issued for the host name.*--coordinator/ },
      { files: certs.expired, code: 'CERT_HAS_EXPIRED', advice: /expired or is not yet valid/ },
    ];
    for (const { files, code, advice } of refusals) {
      const url = await serveTls(files);
      const client = new CoordinatorClient({ baseUrl: url, requestTimeoutMs: 5_000, ca, logger });
      const error = await failure(client.register('t', {}));
      expect(error).toBeInstanceOf(TlsFailureError);
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(`TLS with ${url} failed: ${code}`);
      expect(error.message).toMatch(advice);
      client.close();
    }
    const mutualUrl = await serveTls(certs.server, certs.ca);
    const anonymous = new CoordinatorClient({ baseUrl: mutualUrl, requestTimeoutMs: 5_000, ca, logger });
    expect((await failure(anonymous.heartbeat('t', {}))).message).toMatch(/ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED.*--tls-cert and --tls-key/);
    const clientCertificate = readClientCertificate({ tlsCert: certs.client.cert, tlsKey: certs.client.key });
    const identified = new CoordinatorClient({ baseUrl: mutualUrl, requestTimeoutMs: 5_000, ca, clientCertificate, logger });
    expect(await identified.heartbeat('t', {})).toEqual({});
    // A refused connection is no TLS failure: the network backoff applies.
    expect(await failure(new CoordinatorClient({ baseUrl: 'https://127.0.0.1:1', requestTimeoutMs: 5_000, ca, logger }).heartbeat('t', {}))).not.toBeInstanceOf(
      TlsFailureError,
    );
    for (const c of [anonymous, identified]) c.close();
  });

  it('reads a client certificate and its key together, or neither', () => {
    const certs = makeTestCertificates(makeTempDir('np-tls-'));
    expect(readClientCertificate({})).toBeUndefined();
    expect(readClientCertificate({ tlsCert: certs.client.cert, tlsKey: certs.client.key })?.cert).toEqual(readFileSync(certs.client.cert));
    expect(() => readClientCertificate({ tlsCert: certs.client.cert })).toThrow(/tlsKey: required with tlsCert/);
    expect(() => readClientCertificate({ tlsCert: certs.client.cert, tlsKey: certs.server.key })).toThrow(/tlsKey: .* is not the private key/);
  });

  it('reports a missing or malformed caFile as a config error naming the key', () => {
    const dir = makeTempDir('np-ca-');
    const configError = (file: string) => configProblems(() => readCaBundle(file));
    expect(configError(join(dir, 'missing.pem'))).toEqual([`caFile: cannot read ${join(dir, 'missing.pem')}: ENOENT`]);
    writeFileSync(join(dir, 'notes.txt'), 'not a certificate\n');
    expect(configError(join(dir, 'notes.txt'))).toEqual([`caFile: ${join(dir, 'notes.txt')} is not a PEM CA bundle (no PEM certificate in it)`]);
    writeFileSync(join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    expect(configError(join(dir, 'broken.pem'))[0]).toMatch(/^caFile: .*broken\.pem is not a PEM CA bundle/);
    expect(readCaBundle(undefined)).toBeUndefined();
  });
});
