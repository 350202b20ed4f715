import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { E2E_ADMIN, E2E_ENROLL, type CoordinatorProcess, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, makeTempDir, spawnNodepulse, waitFor } from '../helpers/spawn-process.ts';
import { FAST } from './agent-helpers.ts';
import { api } from './operator-cli-helpers.ts';

const SECRET = 'e2e-webhook-secret-0123456789abcdef';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await cleanupAll();
});

/** What the receiver saw of one request. */
interface Received {
  eventId: number;
  status: number;
  verified: boolean;
  body: Record<string, any>;
}

/**
 * A webhook receiver on 127.0.0.1 that checks each signature as docs/webhooks.md shows, answering
 * `answer` (200 when up, 503 when failing) to a well-signed request, 401 to any other. It can be
 * closed (connection refused) and opened again on the same port.
 */
async function startReceiver() {
  const received: Received[] = [];
  let answer = 200;
  let server: Server | undefined;
  let port = 0;
  const verify = (timestamp: string, signature: string, rawBody: string): boolean => {
    const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${rawBody}`).digest('hex')}`);
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given) && Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  };
  const open = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((request, response) => {
        let raw = '';
        request.setEncoding('utf8');
        request.on('data', (chunk: string) => (raw += chunk));
        request.on('end', () => {
          const verified = verify(String(request.headers['x-nodepulse-timestamp']), String(request.headers['x-nodepulse-signature']), raw);
          const status = verified ? answer : 401;
          received.push({ eventId: Number(request.headers['x-nodepulse-event-id']), status, verified, body: JSON.parse(raw) });
          response.writeHead(status).end();
        });
      });
      server.on('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const close = () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await open();
  closers.push(close);
  return {
    received,
    url: () => `http://127.0.0.1:${port}/hooks/nodepulse`,
    answer: (status: number) => (answer = status),
    close,
    open,
    /** Event ids answered 2xx. */
    delivered: () => new Set(received.filter((entry) => entry.status < 300).map((entry) => entry.eventId)),
  };
}

/** A coordinator whose config file names the receiver as its one sink, the secret in an environment variable. */
async function startWithSink(sinkUrl: string, options: { storePath?: string } = {}): Promise<CoordinatorProcess> {
  const config = join(makeTempDir(), 'coordinator.yaml');
  writeFileSync(config, `webhooks:\n  - {name: e2e, url: "${sinkUrl}", secretEnv: E2E_WEBHOOK_SECRET}\nwebhookRetryMaxDelaySecs: 2\n`);
  return startCoordinatorProcess({ ...options, args: [...FAST, '--config', config], env: { E2E_WEBHOOK_SECRET: SECRET } });
}

/** Every event id the coordinator's store has logged so far (read beside the running process; WAL lets it). */
function loggedIds(storePath: string): number[] {
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT id FROM node_transitions ORDER BY id').all() as { id: number }[]).map((row) => row.id);
  } finally {
    db.close();
  }
}

async function register(coordinator: CoordinatorProcess, hostname: string): Promise<{ nodeId: string; nodeToken: string }> {
  const { status, body } = await coordinator.post('cluster_RegisterNode', E2E_ENROLL, { hostname });
  expect(status).toBe(200);
  return body;
}

/** Waits until every event the store logged has been answered 2xx by the receiver. */
async function everyEventDelivered(coordinator: CoordinatorProcess, receiver: Awaited<ReturnType<typeof startReceiver>>, minimum: number): Promise<number[]> {
  return waitFor(
    () => {
      const ids = loggedIds(coordinator.storePath);
      const delivered = receiver.delivered();
      return ids.length >= minimum && ids.every((id) => delivered.has(id)) ? ids : undefined;
    },
    60_000,
    { intervalMs: 200, message: 'every logged event delivered' },
  );
}

describe('webhooks with real processes', () => {
  it('POSTs a registration and its HeartbeatTimeout termination, signed, in the watch stream’s shape', async () => {
    const receiver = await startReceiver();
    const coordinator = await startWithSink(receiver.url());
    const { nodeId } = await register(coordinator, 'silent-host');
    // The node never heartbeats: timed out once the startup grace (timeout + agents' backoff cap, 6 s) has passed.
    await waitFor(() => receiver.received.some((entry) => entry.body.kind === 'node-terminated' && entry.body.node_id === nodeId), 45_000, {
      intervalMs: 200,
      message: 'the termination delivered',
    });
    const forNode = receiver.received.filter((entry) => entry.body.node_id === nodeId);
    expect(forNode.map((entry) => [entry.body.kind, entry.body.reason, entry.status, entry.verified])).toEqual([
      ['node-registered', null, 200, true],
      ['node-terminated', 'HeartbeatTimeout', 200, true],
    ]);
    for (const entry of forNode) expect(entry.eventId).toBe(entry.body.id);
    // The same JSON as the history API (and the watch stream) shows for these transitions.
    const instance = (await api(coordinator, 'GET', '/api/v2/instances/?hostname=silent-host')).body.results[0];
    const history = (await api(coordinator, 'GET', `/api/v2/instances/${instance.id}/history/`)).body.results as Record<string, unknown>[];
    expect(forNode.map((entry) => entry.body)).toEqual([...history].reverse());
    expect(coordinator.proc.output()).not.toContain(SECRET);
  });

  it('delivers everything a sink missed while it answered 503, in order, once it is back', async () => {
    const receiver = await startReceiver();
    receiver.answer(503);
    const coordinator = await startWithSink(receiver.url());
    const nodes = [];
    for (const hostname of ['down-1', 'down-2', 'down-3']) nodes.push(await register(coordinator, hostname));
    await coordinator.post('cluster_DeregisterNode', nodes[0]!.nodeToken, {});
    await waitFor(() => receiver.received.filter((entry) => entry.status === 503).length >= 3, 30_000, { message: 'retries while the sink fails' });
    expect(receiver.delivered().size).toBe(0);
    const failed = await coordinator.proc.waitForLine(/webhooks: delivery failed; retrying/, 5_000);
    expect(failed).toContain('answered 503');

    receiver.answer(200);
    const ids = await everyEventDelivered(coordinator, receiver, 4);
    // In id order, each at least once: only an event already answered 2xx may come again.
    const firstDeliveries = receiver.received.filter((entry) => entry.status === 200).map((entry) => entry.eventId);
    expect([...new Set(firstDeliveries)]).toEqual([...new Set(firstDeliveries)].sort((a, b) => a - b));
    expect([...receiver.delivered()].sort((a, b) => a - b)).toEqual(expect.arrayContaining(ids));
    expect(receiver.received.every((entry) => entry.verified)).toBe(true);
    await coordinator.proc.waitForLine(/webhooks: the sink accepts deliveries again/, 5_000);

    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toMatch(/nodepulse_webhook_deliveries_total\{sink="e2e",outcome="rejected"\} [1-9]/);
    expect(metrics).toMatch(/nodepulse_webhook_deliveries_total\{sink="e2e",outcome="delivered"\} [1-9]/);
  });

  it('delivers after a kill -9 what the killed coordinator had not, from the same store', async () => {
    const receiver = await startReceiver();
    await receiver.close();
    const first = await startWithSink(receiver.url());
    for (const hostname of ['crash-1', 'crash-2']) await register(first, hostname);
    await first.proc.waitForLine(/webhooks: delivery failed; retrying/, 30_000);
    first.proc.kill('SIGKILL');
    await first.proc.waitForExit(10_000);
    const undelivered = loggedIds(first.storePath);
    expect(undelivered.length).toBeGreaterThanOrEqual(2);
    expect(receiver.delivered().size).toBe(0);

    await receiver.open();
    const second = await startWithSink(receiver.url(), { storePath: first.storePath });
    await register(second, 'after-restart');
    const ids = await everyEventDelivered(second, receiver, undelivered.length + 1);
    expect(ids).toEqual(expect.arrayContaining(undelivered));
    await waitFor(async () => /nodepulse_webhook_outbox_depth\{sink="e2e"\} 0/.test(await (await fetch(`${second.url}/metrics`)).text()), 10_000, {
      message: 'an empty outbox',
    });
  });

  it('refuses a bad sink with exit 78, naming the key and never the secret', async () => {
    const config = join(makeTempDir(), 'coordinator.yaml');
    writeFileSync(config, 'webhooks:\n  - {name: short, url: "http://127.0.0.1:1/", secret: "tooshort-1234"}\n');
    const proc = spawnNodepulse(['coordinator', 'serve', '--port', '0', '--store', join(makeTempDir(), 'np.db'), '--config', config], {
      env: { NODEPULSE_ADMIN_TOKEN: E2E_ADMIN },
    });
    expect((await proc.waitForExit(30_000)).code).toBe(78);
    expect(proc.output()).toContain('webhooks.0.secret: the signing secret must be at least 16 bytes');
    expect(proc.output()).not.toContain('tooshort-1234');
    const flag = spawnNodepulse(['coordinator', 'serve', '--webhooks', `[{"name":"f","url":"http://127.0.0.1:1/","secret":"${SECRET}"}]`]);
    expect((await flag.waitForExit(30_000)).code).toBe(78);
    expect(flag.output()).toContain('--webhooks: unknown option');
  });
});
