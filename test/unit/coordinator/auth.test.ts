import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ENROLL, ENROLL_OTHER, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

describe('tokens and roles', () => {
  it('answers 401 without a token, with a bad token and with a malformed header', async () => {
    for (const token of [undefined, 'np_nope_0000000000000000', 'npn_bad']) {
      const response = await h.call('cluster_GetDetails', token, {});
      expect(response.status).toBe(401);
      expect(response.body.error_code).toBe('Unauthorized');
    }
    const basic = await h.coordinator.app.inject({ method: 'POST', url: '/api/v1/actions/invoke/cluster_GetDetails', headers: { authorization: 'Basic abc' } });
    expect(basic.statusCode).toBe(401);
  });

  it('lets a reader read but not clean up (403)', async () => {
    expect((await h.call('cluster_GetDetails', READER, {})).status).toBe(200);
    const cleanup = await h.call('cluster_CleanupInactiveNodes', READER, {});
    expect(cleanup.status).toBe(403);
    expect(cleanup.body.error_code).toBe('Forbidden');
  });

  it('does not let an enroll token read the cluster or a node token register', async () => {
    expect((await h.call('cluster_GetDetails', ENROLL, {})).status).toBe(403);
    const { nodeToken } = await h.register();
    expect((await h.call('cluster_RegisterNode', nodeToken, {})).status).toBe(403);
    expect((await h.call('cluster_GetDetails', nodeToken, {})).status).toBe(403);
  });

  it('does not let node A heartbeat or deregister node B', async () => {
    const a = await h.register({ name: 'a' });
    const b = await h.register({ name: 'b' });
    const heartbeat = await h.call('cluster_ReportNodeHeartbeat', a.nodeToken, { nodeId: b.nodeId });
    expect(heartbeat.status).toBe(403);
    const deregister = await h.call('cluster_DeregisterNode', a.nodeToken, { nodeId: b.nodeId });
    expect(deregister.status).toBe(403);
    const nodes = (await h.call('cluster_GetDetails', READER, {})).body.nodes;
    expect(nodes.map((node: { nodeId: string }) => node.nodeId).sort()).toEqual([a.nodeId, b.nodeId].sort());
  });

  it('refuses a node token whose secret was tampered with', async () => {
    const { nodeToken } = await h.register();
    const tampered = nodeToken.slice(0, -4) + (nodeToken.endsWith('0000') ? '1111' : '0000');
    expect((await h.call('cluster_ReportNodeHeartbeat', tampered, {})).status).toBe(401);
  });

  it('answers a node token of an unknown node and one with a wrong secret alike, 401 on every route, so no node id can be probed', async () => {
    const { nodeId, nodeToken } = await h.register();
    const wrongSecret = `npn_${nodeId}_${'0'.repeat(48)}`;
    const unknownNode = `npn_00000000-0000-4000-8000-000000000000_${'0'.repeat(48)}`;
    expect(wrongSecret).not.toBe(nodeToken);
    const answer = async (token: string, action: string) => {
      const response = await h.coordinator.app.inject({
        method: 'POST',
        url: `/api/v1/actions/invoke/${action}`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: '{}',
      });
      return { status: response.statusCode, body: response.body, type: response.headers['content-type'] };
    };
    for (const action of ['cluster_ReportNodeHeartbeat', 'cluster_DeregisterNode', 'cluster_GetDetails', 'cluster_CleanupInactiveNodes', 'cluster_RegisterNode', 'coordinator_LiftSafetyHolds']) {
      const unknown = await answer(unknownNode, action);
      expect(unknown.status, action).toBe(401);
      expect(JSON.parse(unknown.body).error_code).toBe('Unauthorized');
      expect(await answer(wrongSecret, action), action).toEqual(unknown);
    }
    const instances = await h.coordinator.app.inject({ method: 'GET', url: '/api/v2/instances/', headers: { authorization: `Bearer ${unknownNode}` } });
    expect(instances.statusCode).toBe(401);
    expect((await h.call('cluster_ReportNodeHeartbeat', nodeToken, {})).status).toBe(200);
  });

  it('answers a valid node token 403 on the admin actions', async () => {
    const { nodeToken } = await h.register();
    for (const action of ['cluster_CleanupInactiveNodes', 'coordinator_LiftSafetyHolds']) {
      expect(await h.call(action, nodeToken, {})).toMatchObject({ status: 403, body: { error_code: 'Forbidden' } });
    }
  });

  it('keeps an enroll token of cluster X out of cluster Y', async () => {
    const response = await h.call('cluster_RegisterNode', ENROLL_OTHER, { cluster: 'default' });
    expect(response.status).toBe(403);
    const own = await h.call('cluster_RegisterNode', ENROLL_OTHER, { name: 'in-other' });
    expect(own.status).toBe(200);
    expect((await h.call('cluster_GetDetails', ADMIN, { cluster: 'other' })).body.nodes).toHaveLength(1);
    expect((await h.call('cluster_GetDetails', ADMIN, {})).body.nodes).toHaveLength(0);
  });

  it('stores tokens only as hashes and never logs them', async () => {
    const { nodeToken } = await h.register({ name: 'secretive' });
    await h.call('cluster_ReportNodeHeartbeat', nodeToken, {});
    const dump = JSON.stringify(await h.store.listTokens()) + JSON.stringify(h.store.db.prepare('SELECT * FROM nodes').all());
    for (const secret of [ADMIN, READER, ENROLL, nodeToken]) {
      expect(dump).not.toContain(secret);
      expect(h.logs()).not.toContain(secret);
    }
    expect(h.logs()).toContain('node registered');
  });

  it('stops accepting a revoked token once the cache expires', async () => {
    const [readerToken] = (await h.store.listTokens()).filter((token) => token.role === 'reader');
    expect((await h.call('cluster_GetDetails', READER, {})).status).toBe(200);
    await h.store.revokeToken(readerToken?.id ?? '', h.clock.now());
    h.clock.advance(h.config.tokenCacheSecs * 1000 + 1);
    expect((await h.call('cluster_GetDetails', READER, {})).status).toBe(401);
  });
});
