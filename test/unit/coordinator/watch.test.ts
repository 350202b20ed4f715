import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ENROLL, ENROLL_OTHER, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';
import { type SseClient, openSse } from '../../helpers/sse-client.ts';

let h: Harness;
let base: string;
const clients: SseClient[] = [];

beforeEach(async () => {
  h = await startHarness();
  await h.coordinator.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.coordinator.app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await h.close();
});

async function watch(query = '', headers: Record<string, string> = {}, token = READER): Promise<SseClient> {
  const client = await openSse(`${base}/api/v1/watch${query}`, { authorization: `Bearer ${token}`, ...headers });
  clients.push(client);
  return client;
}

const kinds = (client: SseClient) => client.events.map((event) => `${event.event}${event.data?.reason ? `:${event.data.reason}` : ''}`);

describe('GET /api/v1/watch', () => {
  it('sends every transition as one event with the log id as its id (a health change too), and no heartbeat', async () => {
    const client = await watch();
    expect(client.status).toBe(200);
    const node = await h.register({ hostname: 'w-1', identity: 'id-w-1', bootId: 'boot-1' });
    await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {});
    const critical = { status: 'critical', checks: [{ name: 'disk', status: 'critical', output: 'full' }] };
    await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, { health: critical });
    await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, { health: critical });
    await h.call('cluster_RegisterNode', ENROLL, { hostname: 'w-1', identity: 'id-w-1', bootId: 'boot-2' });
    await h.call('cluster_DeregisterNode', node.nodeToken, {});
    await client.waitForEvent((event) => event.event === 'node-terminated', 5000, 'the deregistration');
    expect(kinds(client)).toEqual(['node-registered', 'health-changed:critical', 'registration-refused:DuplicateIdentity', 'node-terminated:Shutdown']);
    const ids = client.events.map((event) => Number(event.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(client.events[0]!.data).toMatchObject({ id: ids[0], kind: 'node-registered', node_id: node.nodeId, evidence: { hostname: 'w-1', boot_id: 'boot-1' } });
    expect(client.events[1]!.data.evidence).toEqual({ previous_status: null, failing_checks: ['disk'] });
  });

  it('filters by cluster and kind', async () => {
    const terminations = await watch('?kind=node-terminated,registration-refused');
    const other = await watch('?cluster=other');
    const node = await h.register({ hostname: 'w-2' });
    await h.register({ hostname: 'w-3' }, ENROLL_OTHER);
    await h.call('cluster_DeregisterNode', node.nodeToken, {});
    await terminations.waitForEvent((event) => event.event === 'node-terminated');
    await other.waitForEvent((event) => event.event === 'node-registered');
    expect(kinds(terminations)).toEqual(['node-terminated:Shutdown']);
    expect(other.events.map((event) => event.data.evidence.hostname)).toEqual(['w-3']);
  });

  it('resumes after Last-Event-ID from the log, and tells a client too far behind to re-list', async () => {
    const first = await h.register({ hostname: 'w-4' });
    await h.register({ hostname: 'w-5' });
    await h.call('cluster_DeregisterNode', first.nodeToken, {});
    const all = await h.store.transitionsAfter(0, 100);
    const resumed = await watch('', { 'last-event-id': String(all[0]!.id) });
    await resumed.waitForEvent((event) => event.event === 'node-terminated');
    expect(resumed.events.map((event) => Number(event.id))).toEqual(all.slice(1).map((transition) => transition.id));

    await h.store.pruneTransitions(Number.MAX_SAFE_INTEGER, 2);
    const behind = await watch('', { 'last-event-id': '0' });
    const resync = await behind.waitForEvent((event) => event.event === 'resync');
    expect(resync.id).toBeUndefined();
    expect(resync.data).toMatchObject({ reason: 'behind', oldest_id: all[2]!.id });
    const ahead = await watch('', { 'last-event-id': '999999' });
    expect((await ahead.waitForEvent((event) => event.event === 'resync')).data.reason).toBe('ahead');
    await h.register({ hostname: 'w-6' });
    await behind.waitForEvent((event) => event.event === 'node-registered');
  });

  it('carries transitions other replicas recorded in the shared log, read every poll', async () => {
    h.coordinator.feed.start();
    const client = await watch();
    const cluster = await h.store.findClusterByName('default');
    // Straight into the store: nothing on this replica pokes the feed.
    await h.store.registerNode({ clusterId: cluster!.id, hostname: 'elsewhere', nodeId: 'node-elsewhere', tokenHash: 'x', now: h.clock.now(), duplicateSince: 0 });
    const event = await client.waitForEvent((candidate) => candidate.event === 'node-registered', 3000, 'the other replica’s registration');
    expect(event.data.node_id).toBe('node-elsewhere');
  });

  it('sends a cluster mass-silence hold starting and ending, and the terminations it let through say so', async () => {
    const client = await watch('?kind=hold-started,hold-ended,node-terminated');
    for (let i = 0; i < 4; i++) await h.register({ hostname: `held-${i}` });
    h.passGrace();
    await h.coordinator.sweeper.sweep();
    const started = await client.waitForEvent((event) => event.event === 'hold-started', 5000, 'the hold starting');
    expect(started.data).toMatchObject({ instance_id: null, node_id: null, evidence: { silent: 4, active: 4, timed_out: 0, threshold: 0.5 } });
    const lift = (await h.call('coordinator_LiftSafetyHolds', ADMIN)).body;
    expect(lift).toMatchObject({ clustersReleased: ['default'] });
    await h.coordinator.sweeper.sweep();
    await client.waitForEvent((event) => event.event === 'node-terminated', 5000, 'the terminations let through');
    expect(kinds(client).slice(0, 3)).toEqual(['hold-started', 'hold-ended:lifted', 'node-terminated:HeartbeatTimeout']);
    expect(client.events.at(-1)!.data.evidence.hold).toBe('mass-silence hold ended: lifted');
  });

  it('refuses a missing token, an enroll token, a bad Last-Event-ID and an unknown cluster', async () => {
    const noToken = await fetch(`${base}/api/v1/watch`);
    expect(noToken.status).toBe(401);
    expect((await watch('', {}, ENROLL)).status).toBe(403);
    expect((await watch('', { 'last-event-id': 'abc' })).status).toBe(400);
    expect((await watch('?kind=node-exploded')).status).toBe(400);
    expect((await watch('?cluster=nope', {}, ADMIN)).status).toBe(404);
  });
});
