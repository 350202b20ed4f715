import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTION, ADMIN, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';

const LIMIT = 3;
const WINDOW_SECS = 60;
const PROBER = '203.0.113.7';
const NEIGHBOUR = '203.0.113.8';
const WRONG = 'np_wrong_000000000000000000000000';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ authFailureLimit: LIMIT, authFailureWindowSecs: WINDOW_SECS, authThrottleDelayMs: 0 });
});
afterEach(async () => h.close());

/** One request from `address` with `token`, as the app sees it. */
async function call(address: string, token: string | undefined, action = 'cluster_GetDetails', url = `${ACTION}${action}`) {
  const response = await h.coordinator.app.inject({
    method: 'POST',
    url,
    remoteAddress: address,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    payload: '{}',
  });
  return { status: response.statusCode, retryAfter: response.headers['retry-after'], body: JSON.parse(response.body) };
}

async function metric(name: string): Promise<string> {
  const text = (await h.coordinator.app.inject({ method: 'GET', url: '/metrics' })).body;
  return text.split('\n').filter((line) => line.startsWith(name)).join('\n');
}

const throttleLines = () => h.logs().split('\n').filter((line) => line.includes('too many failed authentications'));

describe('failed authentication is limited per client address', () => {
  it('answers 401 up to the limit, then 429 with Retry-After in the documented shape until the window ends', async () => {
    for (let i = 0; i < LIMIT; i++) expect((await call(PROBER, WRONG)).status).toBe(401);
    const throttled = await call(PROBER, WRONG);
    expect(throttled).toEqual({
      status: 429,
      retryAfter: String(WINDOW_SECS),
      body: { error_code: 'TooManyRequests', message: expect.stringContaining('retry in 60 s'), details: { retryAfterSecs: WINDOW_SECS } },
    });
    // A missing token is a failed authentication too, and answered alike while throttled.
    expect((await call(PROBER, undefined)).status).toBe(429);
    h.clock.advance(45_000);
    expect((await call(PROBER, WRONG)).retryAfter).toBe('15');
    h.clock.advance(15_000);
    expect((await call(PROBER, WRONG)).status).toBe(401);
  });

  it('answers seed 001’s API with its own {"error"} body and Retry-After', async () => {
    for (let i = 0; i < LIMIT; i++) await call(PROBER, WRONG);
    const response = await call(PROBER, WRONG, '', '/runtime/api/v1/clusters');
    expect(response).toMatchObject({ status: 429, retryAfter: String(WINDOW_SECS), body: { error: expect.stringContaining('Too many failed authentications') } });
  });

  it('logs one line per offending address and window, with the address and the count and never the token', async () => {
    for (let i = 0; i < LIMIT + 20; i++) await call(PROBER, WRONG);
    expect(throttleLines()).toHaveLength(1);
    const line = JSON.parse(throttleLines()[0] as string);
    expect(line).toMatchObject({ level: 'warn', address: PROBER, failures: LIMIT, windowSecs: WINDOW_SECS });
    expect(h.logs()).not.toContain(WRONG);
    h.clock.advance(WINDOW_SECS * 1000);
    for (let i = 0; i < LIMIT + 20; i++) await call(PROBER, WRONG);
    expect(throttleLines()).toHaveLength(2);
  });

  it('counts failures by reason and throttled requests in /metrics', async () => {
    await call(PROBER, undefined);
    await call(PROBER, WRONG);
    await call(PROBER, `npn_00000000-0000-4000-8000-000000000000_${'0'.repeat(48)}`);
    for (let i = 0; i < 5; i++) await call(PROBER, WRONG);
    expect(await metric('nodepulse_auth_failures_total')).toContain('nodepulse_auth_failures_total{reason="missing"} 1');
    expect(await metric('nodepulse_auth_failures_total')).toContain('nodepulse_auth_failures_total{reason="invalid"} 2');
    expect(await metric('nodepulse_auth_throttled_total')).toBe('nodepulse_auth_throttled_total 5');
  });

  it('leaves another address alone, and does not count a 403 (a valid token without the role)', async () => {
    for (let i = 0; i < LIMIT; i++) await call(PROBER, WRONG);
    expect((await call(PROBER, WRONG)).status).toBe(429);
    expect((await call(NEIGHBOUR, WRONG)).status).toBe(401);
    for (let i = 0; i < 10; i++) expect((await call(NEIGHBOUR, READER, 'cluster_CleanupInactiveNodes')).status).toBe(403);
    expect((await call(NEIGHBOUR, READER)).status).toBe(200);
  });

  it('still serves, from a throttled address, a token memory proves valid (a known node, a cached operator token), and nothing that needs the store', async () => {
    const { nodeToken } = await h.register();
    expect((await call(PROBER, ADMIN)).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) await call(PROBER, WRONG);
    expect((await call(PROBER, nodeToken, 'cluster_ReportNodeHeartbeat')).status).toBe(200);
    expect((await call(PROBER, ADMIN)).status).toBe(200);
    // The reader token was never looked up: proving it valid would need the store.
    expect((await call(PROBER, READER)).status).toBe(429);
    // A valid node token with a wrong secret is not served.
    expect((await call(PROBER, `${nodeToken.slice(0, -4)}0000`, 'cluster_ReportNodeHeartbeat')).status).toBe(429);
    // Once the cached operator token expires, it needs the store again: it waits for the window.
    h.clock.advance(h.config.tokenCacheSecs * 1000 + 1);
    expect((await call(PROBER, ADMIN)).status).toBe(429);
  });

  it('holds a 429 for authThrottleDelayMs, while a valid token from the same address is answered at once', async () => {
    await h.close();
    const holdMs = 300;
    h = await startHarness({ authFailureLimit: LIMIT, authFailureWindowSecs: WINDOW_SECS, authThrottleDelayMs: holdMs });
    const { nodeToken } = await h.register();
    for (let i = 0; i < LIMIT; i++) await call(PROBER, WRONG);
    const started = performance.now();
    const held = call(PROBER, WRONG).then((answer) => ({ ...answer, ms: performance.now() - started }));
    const heartbeat = await call(PROBER, nodeToken, 'cluster_ReportNodeHeartbeat');
    const heartbeatMs = performance.now() - started;
    expect(heartbeat.status).toBe(200);
    const throttled = await held;
    expect(throttled.status).toBe(429);
    // A timer fires no earlier than asked (Node may round down by a millisecond).
    expect(throttled.ms).toBeGreaterThanOrEqual(holdMs - 1);
    expect(heartbeatMs).toBeLessThan(throttled.ms);
  });

  it('asks the store nothing for a throttled address', async () => {
    for (let i = 0; i < LIMIT; i++) await call(PROBER, WRONG);
    const store = h.store as unknown as Record<string, (...args: unknown[]) => unknown>;
    const asked: string[] = [];
    for (const method of ['findTokenByHash', 'getNode']) {
      const original = store[method] as (...args: unknown[]) => unknown;
      store[method] = (...args: unknown[]) => {
        asked.push(method);
        return original.apply(h.store, args);
      };
    }
    await call(PROBER, WRONG);
    await call(PROBER, `npn_00000000-0000-4000-8000-000000000000_${'0'.repeat(48)}`, 'cluster_ReportNodeHeartbeat');
    expect(asked).toEqual([]);
    await call(NEIGHBOUR, WRONG);
    expect(asked).toEqual(['findTokenByHash']);
  });
});
