import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHistoryEntry } from '../../../../src/coordinator/history/history-view.ts';
import { SqliteStore } from '../../../../src/coordinator/store/sqlite/sqlite-store.ts';
import type { ClusterRecord } from '../../../../src/coordinator/store/store.ts';
import type { Deliver, DeliveryOutcome, DeliveryRequest } from '../../../../src/coordinator/webhooks/webhook-delivery.ts';
import { WebhookDispatcher } from '../../../../src/coordinator/webhooks/webhook-dispatcher.ts';
import { registerWebhookMetrics } from '../../../../src/coordinator/webhooks/webhook-metrics.ts';
import type { WebhookSettings, WebhookSink } from '../../../../src/coordinator/webhooks/webhook-settings.ts';
import { ManualClock } from '../../../../src/shared/clock.ts';
import { createLogger } from '../../../../src/shared/logger.ts';

const TIMEOUT = 35_000;
const secret = new TextEncoder().encode('dispatcher-secret-0123456789');
const sinkNamed = (name: string, extra: Partial<WebhookSink> = {}): WebhookSink => ({ name, url: new URL(`http://127.0.0.1:1/${name}`), secret, ...extra });

/** A sink that answers whatever `answer` says, recording every request. */
class FakeReceiver {
  readonly requests: DeliveryRequest[] = [];
  answer: DeliveryOutcome = { outcome: 'delivered', status: 204 };
  readonly deliver = async (request: DeliveryRequest): Promise<DeliveryOutcome> => {
    this.requests.push(request);
    return this.answer;
  };
  ids(sink?: string): number[] {
    return this.requests.filter((request) => sink === undefined || request.sink.name === sink).map((request) => request.eventId);
  }
}

let store: SqliteStore;
let clock: ManualClock;
let receiver: FakeReceiver;
let cluster: ClusterRecord;
let logged: string;
let registry: Registry;
/** Replaces the receiver for a test that needs a delivery to hang. */
let webhooksDeliver: Deliver | undefined;

/** Polls a condition with real timers (for the one test of the dispatcher's own schedule). */
async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeEach(async () => {
  store = new SqliteStore(':memory:');
  await store.migrate();
  clock = new ManualClock(1_000_000);
  receiver = new FakeReceiver();
  cluster = await store.ensureCluster('default', clock.now());
  logged = '';
  webhooksDeliver = undefined;
});
afterEach(async () => store.close());

function dispatcher(sinks: WebhookSink[], options: { leader?: () => boolean; random?: number } = {}): WebhookDispatcher {
  // Each dispatcher registers its metrics afresh, as a restarted coordinator would.
  registry = new Registry();
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (logged += chunk.toString()));
  const settings: WebhookSettings = { sinks, timeoutMs: 1000, retry: { baseMs: 1000, maxMs: 8000 }, secretEnvNames: [] };
  return new WebhookDispatcher({
    settings,
    store,
    clock,
    logger: createLogger({ level: 'debug', component: 'test', pretty: false, stream }),
    deliver: (request, signal) => (webhooksDeliver ?? receiver.deliver)(request, signal),
    metrics: registerWebhookMetrics(registry, { outbox: store.webhookOutbox, sinks: sinks.map((sink) => sink.name) }),
    isLeader: options.leader ?? (() => true),
    pollMs: 1000,
    random: () => options.random ?? 0.999_999,
  });
}

let nodes = 0;
async function registerNode(hostname: string, clusterId = cluster.id): Promise<{ nodeId: string; instanceId: number }> {
  nodes += 1;
  const now = clock.now();
  const result = await store.registerNode({ clusterId, hostname, nodeId: `node-${nodes}`, tokenHash: `hash-${nodes}`, now, duplicateSince: now - 15_000 });
  if (result.outcome !== 'registered') throw new Error(`expected a registration, got ${result.outcome}`);
  return { nodeId: result.node.nodeId, instanceId: result.instanceId };
}

async function timeOut(nodeId: string): Promise<void> {
  clock.advance(TIMEOUT + 1000);
  await store.terminateExpired([nodeId], clock.now() - TIMEOUT, clock.now(), { decidedBy: 'replica-a' });
}

describe('webhook dispatcher', () => {
  it('starts a new sink after what the log already holds, then sends each new event once, in id order, as the watch stream shows it', async () => {
    await registerNode('before-the-sink');
    const sink = sinkNamed('pager');
    const webhooks = dispatcher([sink]);
    expect(await webhooks.pass(sink)).toBe('idle');
    expect(receiver.requests).toEqual([]);

    const { nodeId } = await registerNode('web-1');
    await timeOut(nodeId);
    expect(await webhooks.pass(sink)).toBe('idle');
    const log = await store.transitionsAfter(0, 100);
    const expected = log.slice(1);
    expect(receiver.requests.map((request) => [request.eventId, request.attempt, JSON.parse(request.body)])).toEqual(
      expected.map((transition) => [transition.id, 1, toHistoryEntry(transition)]),
    );
    expect(receiver.requests.map((request) => JSON.parse(request.body).kind)).toEqual(['node-registered', 'node-terminated']);
    expect(JSON.parse(receiver.requests[1]!.body)).toMatchObject({ node_id: nodeId, reason: 'HeartbeatTimeout', evidence: { decided_by: 'replica-a' } });

    expect(await webhooks.pass(sink)).toBe('idle');
    expect(receiver.requests).toHaveLength(2);
    expect((await store.webhookOutbox.depth()).get('pager')).toBeUndefined();
  });

  it('retries a failed event with a doubling delay up to the cap, holding the later events behind it until it goes through', async () => {
    const sink = sinkNamed('pager');
    const webhooks = dispatcher([sink]);
    await webhooks.pass(sink);
    receiver.answer = { outcome: 'rejected', status: 503, error: 'answered 503' };
    const first = await registerNode('web-1');
    const second = await registerNode('web-2');

    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(await webhooks.pass(sink)).toBe('failed');
      const entry = (await store.webhookOutbox.next('pager'))!;
      expect(entry.attempts).toBe(attempt);
      delays.push(entry.nextAttemptAt - clock.now());
      // Not due yet: nothing is sent, and the later event waits behind it.
      clock.advance(entry.nextAttemptAt - clock.now() - 1);
      expect(await webhooks.pass(sink)).toBe('waiting');
      clock.advance(1);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(receiver.requests.map((request) => request.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(receiver.ids())).toEqual(new Set([receiver.requests[0]!.eventId]));
    expect((await store.webhookOutbox.depth()).get('pager')).toBe(2);
    expect(logged.match(/delivery failed; retrying/g)).toHaveLength(1);

    receiver.answer = { outcome: 'delivered', status: 200 };
    expect(await webhooks.pass(sink)).toBe('idle');
    const sent = receiver.requests.slice(5).map((request) => JSON.parse(request.body).node_id);
    expect(sent).toEqual([first.nodeId, second.nodeId]);
    expect(receiver.requests.at(-2)!.attempt).toBe(6);
    expect(logged).toContain('the sink accepts deliveries again');
    expect(await registry.getSingleMetricAsString('nodepulse_webhook_deliveries_total')).toMatch(/sink="pager",outcome="rejected"} 5/);
    expect(await registry.getSingleMetricAsString('nodepulse_webhook_outbox_depth')).toMatch(/sink="pager"} 0/);
  });

  it('keeps each sink to its kinds and clusters, and one failing sink does not hold another', async () => {
    const edge = await store.ensureCluster('edge', clock.now());
    const all = sinkNamed('all');
    const timeouts = sinkNamed('timeouts', { events: new Set(['node-terminated']) });
    const edgeOnly = sinkNamed('edge-only', { clusters: new Set(['edge']) });
    const webhooks = dispatcher([all, timeouts, edgeOnly]);
    for (const sink of [all, timeouts, edgeOnly]) await webhooks.pass(sink);
    const inDefault = await registerNode('default-1');
    const inEdge = await registerNode('edge-1', edge.id);
    await timeOut(inDefault.nodeId);
    receiver.answer = { outcome: 'unreachable', error: 'ECONNREFUSED' };
    expect(await webhooks.pass(all)).toBe('failed');
    receiver.answer = { outcome: 'delivered', status: 200 };
    await webhooks.pass(timeouts);
    await webhooks.pass(edgeOnly);
    const kinds = (sink: string) => receiver.requests.filter((request) => request.sink.name === sink).map((request) => JSON.parse(request.body));
    expect(kinds('timeouts').map((event) => [event.kind, event.node_id])).toEqual([['node-terminated', inDefault.nodeId]]);
    expect(kinds('edge-only').map((event) => [event.kind, event.node_id])).toEqual([['node-registered', inEdge.nodeId]]);
    expect((await store.webhookOutbox.depth()).get('all')).toBe(3);
  });

  it('resumes from the store after a restart: what was pending, and what happened while it was down', async () => {
    const sink = sinkNamed('pager');
    const before = dispatcher([sink]);
    await before.pass(sink);
    receiver.answer = { outcome: 'unreachable', error: 'ECONNREFUSED' };
    await registerNode('web-1');
    await before.pass(sink);
    await before.stop();
    // Recorded while no coordinator ran.
    await registerNode('web-2');
    receiver.answer = { outcome: 'delivered', status: 200 };
    clock.advance(60_000);
    const after = dispatcher([sink]);
    expect(await after.pass(sink)).toBe('idle');
    expect(receiver.requests.map((request) => [JSON.parse(request.body).evidence.hostname, request.attempt])).toEqual([
      ['web-1', 1],
      ['web-1', 2],
      ['web-2', 1],
    ]);
  });

  it('delivers nothing on a replica that does not sweep', async () => {
    const sink = sinkNamed('pager');
    let leader = false;
    const webhooks = dispatcher([sink], { leader: () => leader });
    expect(await webhooks.pass(sink)).toBe('skipped');
    leader = true;
    await webhooks.pass(sink);
    await registerNode('web-1');
    leader = false;
    expect(await webhooks.pass(sink)).toBe('skipped');
    expect(receiver.requests).toEqual([]);
    leader = true;
    await webhooks.pass(sink);
    expect(receiver.requests).toHaveLength(1);
  });

  it('runs each sink on its own timer once started; stopping abandons the delivery in flight unrecorded, to be sent again', async () => {
    const sink = sinkNamed('pager');
    const webhooks = dispatcher([sink]);
    let release: (() => void) | undefined;
    let calls = 0;
    webhooksDeliver = (_request, signal) => {
      calls += 1;
      return new Promise((resolve) => {
        release = () => resolve({ outcome: 'delivered', status: 200 });
        signal.addEventListener('abort', () => resolve({ outcome: 'unreachable', error: 'aborted: the coordinator is stopping' }));
      });
    };
    await webhooks.start();
    // The cursor is set before start() returns: an event recorded right after is the sink's.
    await registerNode('web-1');
    await waitUntil(() => calls === 1);
    await webhooks.stop();
    release?.();
    const entry = await store.webhookOutbox.next('pager');
    expect(entry).toMatchObject({ attempts: 0 });
    expect((await store.webhookOutbox.depth()).get('pager')).toBe(1);
  });

  it('skips an event history retention deleted before it could be sent, and prunes delivered rows after an hour', async () => {
    const sink = sinkNamed('pager');
    const webhooks = dispatcher([sink]);
    await webhooks.pass(sink);
    receiver.answer = { outcome: 'unreachable', error: 'ECONNREFUSED' };
    await registerNode('old-1');
    await webhooks.pass(sink);
    clock.advance(2 * 86_400_000);
    await store.pruneTransitions(clock.now() - 86_400_000, 1000);
    receiver.answer = { outcome: 'delivered', status: 200 };
    await registerNode('new-1');
    expect(await webhooks.pass(sink)).toBe('idle');
    expect(receiver.requests.map((request) => JSON.parse(request.body).evidence.hostname)).toEqual(['old-1', 'new-1']);
    expect(logged).toContain('deleted by history retention');

    expect(await webhooks.prune()).toBe(0);
    clock.advance(60 * 60_000 + 1);
    expect(await webhooks.prune()).toBe(1);
    expect(await store.webhookOutbox.next('pager')).toBeUndefined();
  });
});
