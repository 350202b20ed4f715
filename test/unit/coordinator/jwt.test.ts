import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, type JWK, SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JWKS_MAX_KEYS } from '../../../src/coordinator/auth/jwks.ts';
import type { CoordinatorConfig } from '../../../src/coordinator/config.ts';
import { ACTION, ADMIN, type Harness, startHarness } from '../../helpers/coordinator-harness.ts';
import { waitFor } from '../../helpers/spawn-process.ts';

const AUDIENCE = 'nodepulse-test';
const ISSUER = 'https://issuer.example.test';
const SECRET = randomBytes(32).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'nodepulse-jwt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface SigningKey {
  alg: 'HS256' | 'HS384' | 'RS256' | 'ES256';
  key: CryptoKey | Uint8Array;
  kid?: string;
}

interface KeyPair {
  alg: 'RS256' | 'ES256';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

async function keyPair(alg: 'RS256' | 'ES256', kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, publicPem: await exportSPKI(publicKey) };
}

const signing = (pair: KeyPair): SigningKey => ({ alg: pair.alg, key: pair.privateKey, kid: pair.kid });
const hs256: SigningKey = { alg: 'HS256', key: new TextEncoder().encode(SECRET) };

let h: Harness;
afterEach(async () => h?.close());

/** A token signed with `signer`, valid for an hour on the harness's clock unless `claims` say otherwise (null removes a claim). */
async function sign(signer: SigningKey, claims: Record<string, unknown> = {}): Promise<string> {
  const nowSecs = Math.floor(h.clock.now() / 1000);
  const all: Record<string, unknown> = { aud: AUDIENCE, iss: ISSUER, sub: 'ops@example.test', iat: nowSecs, exp: nowSecs + 3600, nodepulse_role: 'admin', ...claims };
  for (const [name, value] of Object.entries(all)) if (value === null) delete all[name];
  return new SignJWT(all as Record<string, never>).setProtectedHeader({ alg: signer.alg, ...(signer.kid ? { kid: signer.kid } : {}) }).sign(signer.key);
}

async function call(token: string, action = 'cluster_GetDetails', body: unknown = {}) {
  const response = await h.coordinator.app.inject({
    method: 'POST',
    url: `${ACTION}${action}`,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

async function metrics(): Promise<string> {
  return (await h.coordinator.app.inject({ method: 'GET', url: '/metrics' })).body;
}

function start(overrides: Partial<CoordinatorConfig>): Promise<Harness> {
  return startHarness({ jwtAudience: AUDIENCE, jwtIssuer: ISSUER, authThrottleDelayMs: 0, ...overrides }).then((harness) => (h = harness));
}

function writeJwks(name: string, keys: JWK[]): string {
  const path = join(dir, name);
  const staged = `${path}.new`;
  writeFileSync(staged, JSON.stringify({ keys }));
  renameSync(staged, path);
  return path;
}

describe('JWT bearer tokens, HS256 with a shared secret', () => {
  beforeAll(() => writeFileSync(join(dir, 'secret'), `${SECRET}\n`));
  const startHs = () => start({ jwtSecretFile: join(dir, 'secret') });

  it('act with their role wherever an API key does, and API keys keep working', async () => {
    await startHs();
    expect((await call(await sign(hs256))).status).toBe(200);
    expect((await call(await sign(hs256), 'cluster_CleanupInactiveNodes')).status).toBe(200);
    const instances = await h.coordinator.app.inject({ method: 'GET', url: '/api/v2/instances/', headers: { authorization: `Bearer ${await sign(hs256, { nodepulse_role: 'reader' })}` } });
    expect(instances.statusCode).toBe(200);
    expect((await call(ADMIN)).status).toBe(200);
  });

  it('lets a reader JWT read but not write (403)', async () => {
    await startHs();
    const reader = await sign(hs256, { nodepulse_role: 'reader' });
    expect((await call(reader)).status).toBe(200);
    expect(await call(reader, 'cluster_CleanupInactiveNodes')).toMatchObject({ status: 403, body: { error_code: 'Forbidden' } });
    expect((await call(reader, 'cluster_RegisterNode', { name: 'r' })).status).toBe(403);
  });

  it('lets an enroll JWT register into the cluster it names, and only there', async () => {
    await startHs();
    const enroll = await sign(hs256, { nodepulse_role: 'enroll', nodepulse_cluster: 'edge' });
    const registered = await call(enroll, 'cluster_RegisterNode', { name: 'edge-1' });
    expect(registered.status).toBe(200);
    expect((await call(ADMIN, 'cluster_GetDetails', { cluster: 'edge' })).body.nodes.map((node: { nodeId: string }) => node.nodeId)).toEqual([registered.body.nodeId]);
    expect(await call(enroll, 'cluster_RegisterNode', { name: 'edge-2', cluster: 'default' })).toMatchObject({ status: 403, body: { error_code: 'Forbidden' } });
    expect((await call(enroll)).status).toBe(403);
    expect((await call(ADMIN)).body.nodes).toHaveLength(0);
  });

  it('reads the role and cluster from the configured claims', async () => {
    await start({ jwtSecretFile: join(dir, 'secret'), jwtRoleClaim: 'https://example.test/role', jwtClusterClaim: 'https://example.test/cluster' });
    const enroll = await sign(hs256, { nodepulse_role: null, 'https://example.test/role': 'enroll', 'https://example.test/cluster': 'lab' });
    expect((await call(enroll, 'cluster_RegisterNode', { name: 'lab-1' })).status).toBe(200);
    expect((await call(await sign(hs256))).status).toBe(401);
  });

  it('refuses, 401 in the documented shape and counted by reason, every token that fails a check', async () => {
    await startHs();
    const nowSecs = Math.floor(h.clock.now() / 1000);
    const valid = await sign(hs256);
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'someone else' })).toString('base64url');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
    const cases: [string, string, string][] = [
      ['expired past the tolerance', await sign(hs256, { exp: nowSecs - 31 }), 'jwt_expired'],
      ['not yet valid past the tolerance', await sign(hs256, { nbf: nowSecs + 31 }), 'jwt_not_yet_valid'],
      ['another audience', await sign(hs256, { aud: 'someone-else' }), 'jwt_claims'],
      ['another issuer', await sign(hs256, { iss: 'https://evil.example.test' }), 'jwt_claims'],
      ['no audience', await sign(hs256, { aud: null }), 'jwt_claims'],
      ['no expiry', await sign(hs256, { exp: null }), 'jwt_claims'],
      ['no role claim', await sign(hs256, { nodepulse_role: null }), 'jwt_claims'],
      ['an unknown role', await sign(hs256, { nodepulse_role: 'root' }), 'jwt_claims'],
      ['an enroll token without a cluster', await sign(hs256, { nodepulse_role: 'enroll' }), 'jwt_claims'],
      ['another algorithm with the same secret (HS384)', await sign({ ...hs256, alg: 'HS384' }), 'jwt_algorithm'],
      ['alg none, unsigned', unsigned, 'jwt_algorithm'],
      ['a tampered signature', `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`, 'jwt_signature'],
      ['a tampered payload', `${header}.${forgedPayload}.${signature}`, 'jwt_signature'],
      ['another secret', await sign({ alg: 'HS256', key: randomBytes(32) }), 'jwt_signature'],
      ['garbage in JWT shape', 'abc.def.ghi', 'jwt_malformed'],
    ];
    for (const [what, token, reason] of cases) {
      const answer = await call(token);
      expect(answer.status, what).toBe(401);
      expect(answer.body, what).toEqual({ error_code: 'Unauthorized', message: expect.any(String), details: {} });
      expect(await metrics(), what).toMatch(new RegExp(`nodepulse_auth_failures_total\\{reason="${reason}"\\} [1-9]`));
    }
    expect(h.logs()).not.toContain(signature);
  });

  it('judges exp and nbf on the coordinator’s clock, within the clock tolerance', async () => {
    await startHs();
    const nowSecs = Math.floor(h.clock.now() / 1000);
    expect((await call(await sign(hs256, { exp: nowSecs - 20 }))).status).toBe(200);
    expect((await call(await sign(hs256, { nbf: nowSecs + 20 }))).status).toBe(200);
    const token = await sign(hs256, { exp: nowSecs + 60 });
    expect((await call(token)).status).toBe(200);
    h.clock.advance(60_000 + 30_000 + 1000);
    expect((await call(token)).status).toBe(401);
  });

  it('is refused, 401, by a coordinator without JWT keys', async () => {
    h = await startHarness({ authThrottleDelayMs: 0 });
    expect(await call(await sign(hs256))).toMatchObject({ status: 401, body: { error_code: 'Unauthorized' } });
  });
});

describe('JWT bearer tokens, RS256 and ES256 from a key set', () => {
  let rsa: KeyPair;
  let ec: KeyPair;
  let rotated: KeyPair;
  let stranger: KeyPair;
  let server: Server;
  let served: unknown = {};
  let url = '';

  beforeAll(async () => {
    [rsa, ec, rotated, stranger] = await Promise.all([keyPair('RS256', 'rsa-1'), keyPair('ES256', 'ec-1'), keyPair('ES256', 'ec-2'), keyPair('RS256', 'rsa-1')]);
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(typeof served === 'string' ? served : JSON.stringify(served));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('accepts RS256 and ES256 tokens whose kid is in the key set file, and refuses an unknown kid, another key and an HS256 token made with a public key', async () => {
    await start({ jwtJwksFile: writeJwks('jwks.json', [rsa.publicJwk, ec.publicJwk]) });
    expect((await call(await sign(signing(rsa)))).status).toBe(200);
    expect((await call(await sign(signing(ec)))).status).toBe(200);
    expect(await call(await sign(signing(rotated)))).toMatchObject({ status: 401, body: { error_code: 'Unauthorized' } });
    // Same kid, another key: the signature does not verify.
    expect((await call(await sign(signing(stranger)))).status).toBe(401);
    // The public key as an HMAC secret: HS256 is not an algorithm of a key set.
    const confused = await sign({ alg: 'HS256', key: new TextEncoder().encode(rsa.publicPem), kid: rsa.kid });
    expect((await call(confused)).status).toBe(401);
    const text = await metrics();
    expect(text).toMatch(/nodepulse_auth_failures_total\{reason="jwt_unknown_key"\} 1/);
    expect(text).toMatch(/nodepulse_auth_failures_total\{reason="jwt_signature"\} 1/);
    expect(text).toMatch(/nodepulse_auth_failures_total\{reason="jwt_algorithm"\} 1/);
  });

  it('reads the key set file again when it changed, at most every jwtJwksRefreshSecs, and keeps its keys when the new file does not load', async () => {
    const path = writeJwks('rotating.json', [rsa.publicJwk]);
    await start({ jwtJwksFile: path, jwtJwksRefreshSecs: 60 });
    writeJwks('rotating.json', [rotated.publicJwk]);
    expect((await call(await sign(signing(rsa)))).status).toBe(200);
    h.clock.advance(60_000);
    expect((await call(await sign(signing(rotated)))).status).toBe(200);
    expect((await call(await sign(signing(rsa)))).status).toBe(401);
    writeFileSync(path, '{"keys": "not a list"}');
    h.clock.advance(60_000);
    expect((await call(await sign(signing(rotated)))).status).toBe(200);
    expect(h.logs()).toContain('JWT key set file changed but does not load');
  });

  it('fetches the key set from a URL (served on 127.0.0.1), refreshes it in the background, and answers 503 KeysUnavailable while it has none', async () => {
    served = { keys: [rsa.publicJwk, ec.publicJwk] };
    await start({ jwtJwksUrl: url, jwtJwksRefreshSecs: 60 });
    expect((await call(await sign(signing(rsa)))).status).toBe(200);
    expect((await call(await sign(signing(ec)))).status).toBe(200);
    expect((await call(await sign(signing(rotated)))).status).toBe(401);
    served = { keys: [rotated.publicJwk] };
    h.clock.advance(60_000);
    // The refresh runs in the background; the keys in hand answer meanwhile.
    await waitFor(async () => (await call(await sign(signing(rotated)))).status === 200, 10_000);
    expect((await call(await sign(signing(rsa)))).status).toBe(401);
  });

  it('refuses a key set URL that answers too many keys or too many bytes: 503 KeysUnavailable, not counted as a failed authentication', async () => {
    served = { keys: Array.from({ length: JWKS_MAX_KEYS + 1 }, (_, i) => ({ ...rsa.publicJwk, kid: `k${i}` })) };
    await start({ jwtJwksUrl: url });
    expect(await call(await sign(signing(rsa)))).toMatchObject({ status: 503, body: { error_code: 'KeysUnavailable' } });
    await h.close();
    served = `{"keys": [], "padding": "${'x'.repeat(200_000)}"}`;
    await start({ jwtJwksUrl: url });
    expect(await call(await sign(signing(rsa)))).toMatchObject({ status: 503, body: { error_code: 'KeysUnavailable' } });
    expect(await metrics()).not.toMatch(/nodepulse_auth_failures_total\{/);
    expect(h.logs()).toContain('fetching the JWT key set failed');
  });

  it('answers 503 KeysUnavailable when the key set URL cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await start({ jwtJwksUrl: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/jwks.json` });
    expect(await call(await sign(signing(rsa)))).toMatchObject({ status: 503, body: { error_code: 'KeysUnavailable' } });
  });
});
