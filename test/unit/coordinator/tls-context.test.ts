import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorConfigSchema } from '../../../src/coordinator/config.ts';
import { cleartextWarning, isLoopbackHost, loadTls } from '../../../src/coordinator/tls-context.ts';
import { loadConfig } from '../../../src/shared/config-loader.ts';
import { configProblems } from '../../helpers/config-problems.ts';
import { type TestCertificates, makeTestCertificates } from '../../helpers/test-certificates.ts';

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates(mkdtempSync(join(tmpdir(), 'nodepulse-tls-unit-')));
});
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

const problems = configProblems;

describe('the coordinator TLS settings', () => {
  it('reads tlsCert, tlsKey and tlsClientCa from the environment like every key', () => {
    const config = loadConfig(CoordinatorConfigSchema, {
      env: { NODEPULSE_TLS_CERT: certs.server.cert, NODEPULSE_TLS_KEY: certs.server.key, NODEPULSE_TLS_CLIENT_CA: certs.ca },
    });
    const tls = loadTls(config);
    expect(tls?.files).toEqual({ certPath: certs.server.cert, keyPath: certs.server.key, clientCaPath: certs.ca });
    expect(tls?.context.leaf.subject).toBe('CN=server');
    expect(tls?.context.clientCa).toBeInstanceOf(Buffer);
    expect(loadTls(loadConfig(CoordinatorConfigSchema, {}))).toBeUndefined();
  });

  it('wants a certificate and its key together, a client CA only with them, and a key that matches', () => {
    expect(problems(() => loadTls({ tlsCert: certs.server.cert }))).toEqual([expect.stringMatching(/^tlsKey: required with tlsCert/)]);
    expect(problems(() => loadTls({ tlsKey: certs.server.key }))).toEqual([expect.stringMatching(/^tlsCert: required with tlsKey/)]);
    expect(problems(() => loadTls({ tlsClientCa: certs.ca }))).toEqual([expect.stringMatching(/^tlsClientCa: /)]);
    expect(problems(() => loadTls({ tlsCert: certs.server.cert, tlsKey: certs.client.key }))).toEqual([
      `tlsKey: ${certs.client.key} is not the private key of the certificate in ${certs.server.cert} (tlsCert)`,
    ]);
    expect(problems(() => loadTls({ tlsCert: certs.server.key, tlsKey: certs.server.key }))).toEqual([
      `tlsCert: ${certs.server.key} is not a PEM certificate (no PEM certificate in it)`,
    ]);
  });
});

describe('the cleartext warning', () => {
  it('is given for a plain HTTP coordinator other hosts can reach, and only then', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', '192.168.0.10', 'coordinator.internal', '[::]']) {
      expect(cleartextWarning(host, false), host).toMatch(new RegExp(`^listening on ${host.replace(/[[\]]/g, '\\$&')} without TLS: bearer tokens .* cleartext`));
    }
    for (const host of ['127.0.0.1', '127.0.0.53', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
      expect(cleartextWarning(host, false), host).toBeUndefined();
    }
    expect(cleartextWarning('0.0.0.0', true)).toBeUndefined();
  });
});
