import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ENROLL, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

const TIMEOUT_MS = 35_000;

async function history(instanceId: number, token = READER, query = '') {
  const response = await h.coordinator.app.inject({ method: 'GET', url: `/api/v2/instances/${instanceId}/history/${query}`, headers: { authorization: `Bearer ${token}` } });
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

async function instanceIdOf(hostname: string): Promise<number> {
  const [instance] = await h.store.listInstances({ hostname });
  return instance!.id;
}

/** Registers as an agent process that started `uptimeSecs` ago, falls silent past the timeout, is timed out. */
async function timedOutAgent(hostname: string, processId: string) {
  h.passGrace();
  await h.register({ hostname, identity: `id-${hostname}`, bootId: 'boot-1', continuity: { processId, processUptimeSecs: 5, hostUptimeSecs: 3600 } });
  const silentSince = h.clock.now();
  h.clock.advance(TIMEOUT_MS + 1000);
  await h.coordinator.sweeper.sweep();
  return { silentSince, instanceId: await instanceIdOf(hostname) };
}

describe('the outage verdict of a host that comes back after a timeout, on the coordinator clock', () => {
  it('says rebooted for a new boot id, with when the host booted by its uptime', async () => {
    const { silentSince, instanceId } = await timedOutAgent('web-1', 'proc-1');
    h.clock.advance(20_000);
    await h.register({ hostname: 'web-1', identity: 'id-web-1', bootId: 'boot-2', continuity: { processId: 'proc-2', processUptimeSecs: 2, hostUptimeSecs: 30 } });
    const { body } = await history(instanceId);
    expect(body.results.map((entry: { kind: string }) => entry.kind)).toEqual(['node-registered', 'node-terminated', 'node-registered']);
    expect(body.results[0].verdict).toEqual({
      outcome: 'rebooted',
      previous_node_id: body.results[1].node_id,
      silent_since: new Date(silentSince).toISOString(),
      booted_at: new Date(h.clock.now() - 30_000).toISOString(),
    });
    expect(body.results[1]).toMatchObject({
      reason: 'HeartbeatTimeout',
      evidence: { last_heartbeat: new Date(silentSince).toISOString(), deadline: new Date(silentSince + TIMEOUT_MS).toISOString(), decided_by: expect.any(String) },
    });
  });

  it('says agent restarted for the same boot and another agent process', async () => {
    const { instanceId } = await timedOutAgent('web-2', 'proc-1');
    await h.register({ hostname: 'web-2', identity: 'id-web-2', bootId: 'boot-1', continuity: { processId: 'proc-2', processUptimeSecs: 4 } });
    const [entry] = (await history(instanceId)).body.results;
    expect(entry.verdict).toMatchObject({ outcome: 'agent-restarted', agent_started_at: new Date(h.clock.now() - 4000).toISOString() });
    expect(entry.evidence).toMatchObject({ hostname: 'web-2', identity: expect.any(String), boot_id: 'boot-1', agent_process_id: 'proc-2', address: '127.0.0.1' });
  });

  it('says cut off when the same agent process kept running, with its first and last failed attempts', async () => {
    const { instanceId } = await timedOutAgent('web-3', 'proc-1');
    const failedAttempts = { count: 7, firstSecsAgo: 40, firstError: 'heartbeat: ECONNREFUSED', lastSecsAgo: 1, lastError: 'heartbeat: node terminated (410)' };
    await h.register({ hostname: 'web-3', identity: 'id-web-3', bootId: 'boot-1', continuity: { processId: 'proc-1', processUptimeSecs: 100, failedAttempts } });
    const [entry] = (await history(instanceId)).body.results;
    expect(entry.verdict).toMatchObject({
      outcome: 'cut-off',
      failed_attempts: {
        count: 7,
        first_at: new Date(h.clock.now() - 40_000).toISOString(),
        first_error: 'heartbeat: ECONNREFUSED',
        last_at: new Date(h.clock.now() - 1000).toISOString(),
        last_error: 'heartbeat: node terminated (410)',
      },
    });
  });

  it('says unknown when the client sent no evidence of its process, and nothing after a clean shutdown', async () => {
    const { instanceId } = await timedOutAgent('web-4', 'proc-1');
    const back = await h.register({ hostname: 'web-4', identity: 'id-web-4' });
    expect((await history(instanceId)).body.results[0].verdict).toMatchObject({ outcome: 'unknown', why: expect.stringContaining('no evidence') });
    await h.call('cluster_DeregisterNode', back.nodeToken, {});
    await h.register({ hostname: 'web-4', identity: 'id-web-4' });
    const [registered, shutdown] = (await history(instanceId)).body.results;
    expect(shutdown).toMatchObject({ kind: 'node-terminated', reason: 'Shutdown' });
    expect(registered.verdict).toBeUndefined();
  });
});

describe('GET /api/v2/instances/{id}/history/', () => {
  it('lists refusals too, in AWX pages, newest first, for readers and admins only', async () => {
    await h.register({ hostname: 'db-1', identity: 'id-db-1', bootId: 'boot-1' });
    const clone = await h.call('cluster_RegisterNode', ENROLL, { hostname: 'db-1', identity: 'id-db-1', bootId: 'boot-2' });
    expect(clone.status).toBe(409);
    const instanceId = await instanceIdOf('db-1');
    const first = await history(instanceId, ADMIN, '?page_size=1');
    expect(first.body).toMatchObject({ count: 2, previous: null, next: `/api/v2/instances/${instanceId}/history/?page=2&page_size=1` });
    expect(first.body.results[0]).toMatchObject({ kind: 'registration-refused', reason: 'DuplicateIdentity', node_id: null, evidence: { boot_id: 'boot-2' } });
    const second = await history(instanceId, READER, '?page=2&page_size=1');
    expect(second.body).toMatchObject({ next: null, previous: `/api/v2/instances/${instanceId}/history/?page=1&page_size=1`, results: [{ kind: 'node-registered' }] });
    expect(second.body.results[0].id).toBeLessThan(first.body.results[0].id);
    expect((await history(instanceId, READER, '?page=3&page_size=1')).status).toBe(404);
    expect((await history(instanceId, ENROLL)).status).toBe(403);
    expect((await history(99_999)).body).toMatchObject({ error_code: 'InstanceNotFound' });
  });
});
