/**
 * TLS end to end: the coordinator process serving HTTPS with throwaway certificates (openssl, in a
 * temporary directory), real agent processes that trust its CA or refuse its certificate, the
 * certificate swapped on SIGHUP under a kept-alive connection, mutual TLS, the cleartext warning
 * and the configuration errors.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent as HttpsAgent, get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ClientTls, E2E_ENROLL, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, makeTempDir, spawnNodepulse, waitFor } from '../helpers/spawn-process.ts';
import { type CertFiles, type TestCertificates, fingerprintOf, makeTestCertificates } from '../helpers/test-certificates.ts';
import { FAST, nodeById, startAgent, waitForRegistration } from './agent-helpers.ts';

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates(mkdtempSync(join(tmpdir(), 'nodepulse-tls-')));
});
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));
afterEach(cleanupAll);

const serving = (files: CertFiles) => ['--tls-cert', files.cert, '--tls-key', files.key];
const trustingCa = (): ClientTls => ({ ca: readFileSync(certs.ca) });

interface Answer {
  status: number;
  /** The certificate the coordinator presented on this request's connection. */
  fingerprint: string;
  /** Whether the request went over a connection opened for an earlier one. */
  reusedSocket: boolean;
}

function getOver(url: string, agent: HttpsAgent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent }, (response) => {
      const fingerprint = (response.socket as TLSSocket).getPeerCertificate().fingerprint256;
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, fingerprint, reusedSocket: request.reusedSocket }));
    });
    request.on('error', reject);
  });
}

/** A request on a connection of its own. */
async function getFresh(url: string, tls: ClientTls): Promise<Answer> {
  const agent = new HttpsAgent(tls);
  try {
    return await getOver(url, agent);
  } finally {
    agent.destroy();
  }
}

const tlsFailureLines = (lines: string[]) => lines.filter((line) => line.includes('"state":"tls-failure"'));
const failedAttempts = (lines: string[]) => lines.filter((line) => line.includes('"message":"request failed"'));

describe('the coordinator over HTTPS', () => {
  it('registers a real agent that trusts its CA (--ca-file) and takes its heartbeats, and answers nothing over plain HTTP', async () => {
    const coordinator = await startCoordinatorProcess({ args: [...FAST, ...serving(certs.server)], tls: trustingCa() });
    expect(JSON.parse(await coordinator.proc.waitForLine(/"listening"/, 1_000))).toMatchObject({ url: coordinator.url });
    expect(coordinator.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const { proc } = startAgent(coordinator.url, { args: ['--ca-file', certs.ca] });
    const nodeId = await waitForRegistration(proc);
    const registered = await nodeById(coordinator, nodeId);
    await waitFor(async () => (await nodeById(coordinator, nodeId))!.lastHeartbeat > registered!.lastHeartbeat, 30_000, {
      intervalMs: 200,
      message: 'a heartbeat over HTTPS',
    });
    await expect(fetch(`http://127.0.0.1:${coordinator.port}/healthz`)).rejects.toThrow();
    expect(tlsFailureLines(proc.lines)).toEqual([]);
    for (const output of [coordinator.proc.output(), proc.output()]) {
      expect(output).not.toContain('PRIVATE KEY');
      expect(output).not.toContain(E2E_ENROLL);
    }
  });

  const wrongCertificates = [
    { what: 'a self-signed certificate no CA of its signed', pick: (c: TestCertificates) => c.selfSigned, code: 'DEPTH_ZERO_SELF_SIGNED_CERT', advice: '--ca-file' },
    { what: 'a certificate for another host name', pick: (c: TestCertificates) => c.wrongHost, code: 'ERR_TLS_CERT_ALTNAME_INVALID', advice: '--coordinator' },
    { what: 'an expired certificate', pick: (c: TestCertificates) => c.expired, code: 'CERT_HAS_EXPIRED', advice: 'renew it' },
  ];
  it.each(wrongCertificates)('the agent refuses $what with one clear error line, and retries slowly', async ({ pick, code, advice }) => {
    const coordinator = await startCoordinatorProcess({ args: [...FAST, ...serving(pick(certs))], tls: trustingCa() });
    // The agent's slow retry is NODEPULSE_AUTH_RETRY_DELAY (2 s, agent-helpers): waits of 1 to 2 s.
    const { proc } = startAgent(coordinator.url, { args: ['--ca-file', certs.ca] });
    await waitFor(() => failedAttempts(proc.lines).length >= 4, 30_000, { message: 'four refused attempts' });
    const [line, ...more] = tlsFailureLines(proc.lines);
    expect(more).toEqual([]);
    expect(JSON.parse(line!)).toMatchObject({ level: 'error', state: 'tls-failure' });
    expect(line).toContain(coordinator.url);
    expect(line).toContain(code);
    expect(line).toContain(advice);
    const times = failedAttempts(proc.lines).map((attempt) => Date.parse((JSON.parse(attempt) as { timestamp: string }).timestamp));
    for (let index = 1; index < times.length; index += 1) expect(times[index]! - times[index - 1]!).toBeGreaterThanOrEqual(950);
    expect(proc.output()).not.toContain('"registered"');
  });

  it('warns when its certificate has expired', async () => {
    const coordinator = await startCoordinatorProcess({ args: serving(certs.expired), tls: trustingCa() });
    expect(JSON.parse(await coordinator.proc.waitForLine(/clients will refuse it/, 1_000))).toMatchObject({ level: 'warn' });
  });
});

describe('SIGHUP reloads the certificate', () => {
  it('keeps a kept-alive connection working, hands new connections the new certificate, and keeps the old one when the new pair is bad', async () => {
    const dir = makeTempDir();
    const live = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
    const install = (files: CertFiles) => {
      copyFileSync(files.cert, live.cert);
      copyFileSync(files.key, live.key);
    };
    install(certs.server);
    const coordinator = await startCoordinatorProcess({ args: serving(live), tls: trustingCa() });
    const healthz = `${coordinator.url}/healthz`;
    const keptAlive = new HttpsAgent({ ...trustingCa(), keepAlive: true, maxSockets: 1 });
    try {
      expect(await getOver(healthz, keptAlive)).toMatchObject({ status: 200, fingerprint: fingerprintOf(certs.server.cert), reusedSocket: false });

      install(certs.renewed);
      coordinator.proc.kill('SIGHUP');
      await coordinator.proc.waitForLine(/"TLS certificate reloaded"/, 15_000);
      expect(await getOver(healthz, keptAlive)).toEqual({ status: 200, fingerprint: fingerprintOf(certs.server.cert), reusedSocket: true });
      expect(await getFresh(healthz, trustingCa())).toMatchObject({ status: 200, fingerprint: fingerprintOf(certs.renewed.cert) });

      // A certificate with another certificate's key: logged, and the renewed pair stays in force.
      copyFileSync(certs.server.cert, live.cert);
      coordinator.proc.kill('SIGHUP');
      const failed = JSON.parse(await coordinator.proc.waitForLine(/"TLS reload failed/, 15_000));
      expect(failed).toMatchObject({ level: 'error', problems: [expect.stringContaining(live.key)] });
      expect(await getFresh(healthz, trustingCa())).toMatchObject({ status: 200, fingerprint: fingerprintOf(certs.renewed.cert) });
      expect(await getOver(healthz, keptAlive)).toMatchObject({ status: 200, reusedSocket: true });
      expect(coordinator.proc.exitStatus()).toBeUndefined();
      expect(coordinator.proc.output()).not.toContain('PRIVATE KEY');
    } finally {
      keptAlive.destroy();
    }
  });

  it('is logged and changes nothing without TLS (it used to stop the coordinator)', async () => {
    const coordinator = await startCoordinatorProcess();
    coordinator.proc.kill('SIGHUP');
    await coordinator.proc.waitForLine(/nothing to reload/, 15_000);
    expect((await fetch(`${coordinator.url}/healthz`)).status).toBe(200);
  });
});

describe('mutual TLS (--tls-client-ca)', () => {
  it('refuses a client without a certificate, or with one from another CA, and accepts the agent with its own', async () => {
    const client = { ...trustingCa(), cert: readFileSync(certs.client.cert), key: readFileSync(certs.client.key) };
    const coordinator = await startCoordinatorProcess({ args: [...FAST, ...serving(certs.server), '--tls-client-ca', certs.ca], tls: client });
    const healthz = `${coordinator.url}/healthz`;
    await expect(getFresh(healthz, trustingCa())).rejects.toMatchObject({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
    const stranger = { ...trustingCa(), cert: readFileSync(certs.strangerClient.cert), key: readFileSync(certs.strangerClient.key) };
    await expect(getFresh(healthz, stranger)).rejects.toThrow();
    expect((await getFresh(healthz, client)).status).toBe(200);

    const withoutCertificate = startAgent(coordinator.url, { args: ['--ca-file', certs.ca] });
    const refused = await withoutCertificate.proc.waitForLine(/"state":"tls-failure"/, 30_000);
    expect(refused).toContain('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    expect(refused).toContain('--tls-cert');
    withoutCertificate.proc.kill('SIGKILL');
    await withoutCertificate.proc.waitForExit(10_000);

    const { proc } = startAgent(coordinator.url, { env: { NODEPULSE_CA_FILE: certs.ca, NODEPULSE_TLS_CERT: certs.client.cert, NODEPULSE_TLS_KEY: certs.client.key } });
    const nodeId = await waitForRegistration(proc);
    const registered = await nodeById(coordinator, nodeId);
    await waitFor(async () => (await nodeById(coordinator, nodeId))!.lastHeartbeat > registered!.lastHeartbeat, 30_000, {
      intervalMs: 200,
      message: 'a heartbeat over mutual TLS',
    });
  });
});

describe('the cleartext warning', () => {
  it('warns once when the coordinator listens on a non-loopback address without TLS', async () => {
    const proc = spawnNodepulse(['coordinator', 'serve', '--host', '0.0.0.0', '--port', '0', '--store', join(makeTempDir(), 'db.sqlite')]);
    await proc.waitForLine(/"listening"/, 45_000);
    proc.kill('SIGKILL');
    const warnings = proc.lines.filter((line) => line.includes('without TLS'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 'warn' });
    expect(warnings[0]).toContain('0.0.0.0');
    expect(warnings[0]).toContain('--tls-cert');
  });
});

describe('TLS configuration errors exit 78 and name the key and file', () => {
  const cases: Array<{ what: string; args: (c: TestCertificates) => string[]; mentions: (c: TestCertificates) => string[] }> = [
    { what: 'a certificate without its key', args: (c) => ['--tls-cert', c.server.cert], mentions: () => ['tlsKey', 'tlsCert'] },
    { what: 'a key without its certificate', args: (c) => ['--tls-key', c.server.key], mentions: () => ['tlsCert'] },
    { what: 'a client CA without a certificate', args: (c) => ['--tls-client-ca', c.ca], mentions: () => ['tlsClientCa'] },
    { what: 'a certificate file that does not exist', args: (c) => ['--tls-cert', join(c.dir, 'missing.pem'), '--tls-key', c.server.key], mentions: (c) => [`tlsCert: cannot read ${join(c.dir, 'missing.pem')}`] },
    { what: 'a key that is not a key', args: (c) => ['--tls-cert', c.server.cert, '--tls-key', c.server.cert], mentions: (c) => [`tlsKey: ${c.server.cert} is not`] },
    { what: "another certificate's key", args: (c) => ['--tls-cert', c.server.cert, '--tls-key', c.renewed.key], mentions: (c) => [`tlsKey: ${c.renewed.key} is not the private key`, c.server.cert] },
    { what: 'a client CA that is not PEM', args: (c) => [...serving(c.server), '--tls-client-ca', c.server.key], mentions: (c) => [`tlsClientCa: ${c.server.key}`] },
  ];
  it.each(cases)('coordinator: $what', async ({ args, mentions }) => {
    const proc = spawnNodepulse(['coordinator', 'serve', '--store', join(makeTempDir(), 'db.sqlite'), '--port', '0', ...args(certs)]);
    expect((await proc.waitForExit(30_000)).code).toBe(78);
    for (const text of mentions(certs)) expect(proc.stderrLines.join('\n')).toContain(text);
    expect(proc.output()).not.toContain('PRIVATE KEY');
  });

  it.each([
    { what: 'a client certificate without its key', args: (c: TestCertificates) => ['--tls-cert', c.client.cert], mentions: 'tlsKey' },
    { what: "another certificate's key", args: (c: TestCertificates) => ['--tls-cert', c.client.cert, '--tls-key', c.server.key], mentions: 'is not the private key' },
  ])('agent: $what', async ({ args, mentions }) => {
    const proc = spawnNodepulse(['agent', 'run', '--state-dir', join(makeTempDir(), 'state'), ...args(certs)], {
      env: { NODEPULSE_ENROLL_TOKEN: 'x', NODEPULSE_COORDINATOR: 'https://127.0.0.1:1' },
    });
    expect((await proc.waitForExit(30_000)).code).toBe(78);
    expect(proc.output()).toContain(mentions);
  });
});
