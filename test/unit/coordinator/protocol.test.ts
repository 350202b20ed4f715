import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contractProblems } from '../../helpers/contracts.ts';
import { ADMIN, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35 });
});
afterEach(async () => h.close());

const details = async (includeTerminated?: boolean) => {
  const response = await h.call('cluster_GetDetails', READER, includeTerminated === undefined ? {} : { includeTerminated });
  expect(response.status).toBe(200);
  expect(contractProblems('nexigon', 'nexigon_api.cluster.GetClusterDetailsOutput', response.body)).toEqual([]);
  return response.body.nodes as Array<Record<string, unknown>>;
};

describe('the seed 000 agent protocol', () => {
  it('registers a node that shows Active with its name, joinedAt and uptime', async () => {
    const joined = h.clock.now();
    const { nodeId } = await h.register({ name: 'web-1' });
    h.clock.advance(7_500);
    const [node] = await details();
    expect(node).toEqual({
      nodeId,
      name: 'web-1',
      status: 'Active',
      joinedAt: new Date(joined).toISOString(),
      uptimeSecs: 7,
      lastHeartbeat: new Date(joined).toISOString(),
    });
  });

  it('answers register with the node id, a node token, the heartbeat interval and the backoff cap', async () => {
    const response = await h.call('cluster_RegisterNode', ADMIN, { name: 'only-the-seed-field' });
    expect(response.status).toBe(200);
    expect(response.body.heartbeatIntervalSecs).toBe(10);
    expect(response.body.retryMaxDelaySecs).toBe(30);
    expect(response.body.nodeToken).toMatch(/^npn_/);
    const { nodeToken: _token, heartbeatIntervalSecs: _interval, retryMaxDelaySecs: _cap, ...seedFields } = response.body;
    expect(contractProblems('nexigon', 'nexigon_api.cluster.RegisterClusterNodeOutput', seedFields)).toEqual([]);
  });

  it('accepts a bare POST with no body for the actions that have no fields', async () => {
    const { nodeToken } = await h.register();
    const response = await h.call('cluster_ReportNodeHeartbeat', nodeToken);
    expect(response).toEqual({ status: 200, body: {} });
    expect(contractProblems('nexigon', 'nexigon_api.outputs.Empty', response.body)).toEqual([]);
  });

  it('moves lastHeartbeat forward on a heartbeat, by the coordinator clock', async () => {
    const { nodeToken } = await h.register();
    h.clock.advance(4_000);
    const beat = h.clock.now();
    expect((await h.call('cluster_ReportNodeHeartbeat', nodeToken, {})).status).toBe(200);
    expect((await details())[0]?.lastHeartbeat).toBe(new Date(beat).toISOString());
    // And again once the soft state has been written to the store.
    await h.coordinator.heartbeats.flush();
    expect((await details())[0]?.lastHeartbeat).toBe(new Date(beat).toISOString());
  });

  it('deregisters as Terminated/Shutdown with terminatedAt, hidden unless includeTerminated', async () => {
    const { nodeId, nodeToken } = await h.register({ name: 'db-1' });
    h.clock.advance(61_000);
    const response = await h.call('cluster_DeregisterNode', nodeToken, {});
    expect(response).toEqual({ status: 200, body: {} });
    expect(await details()).toEqual([]);
    expect(await details(false)).toEqual([]);
    const [node] = await details(true);
    expect(node).toMatchObject({ nodeId, status: 'Terminated', terminationReason: 'Shutdown', terminatedAt: new Date(h.clock.now()).toISOString(), uptimeSecs: 61 });
    h.clock.advance(100_000);
    expect((await details(true))[0]?.uptimeSecs).toBe(61);
  });

  it('cleanup terminates a silent node as HeartbeatTimeout and leaves a live one', async () => {
    h.passGrace();
    const silent = await h.register({ name: 'silent' });
    const live = await h.register({ name: 'live' });
    for (let second = 0; second < 40; second += 5) {
      h.clock.advance(5_000);
      await h.call('cluster_ReportNodeHeartbeat', live.nodeToken, {});
    }
    expect((await h.call('cluster_CleanupInactiveNodes', ADMIN, {})).body).toEqual({});
    const nodes = await details(true);
    expect(nodes.find((node) => node.nodeId === silent.nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'HeartbeatTimeout' });
    expect(nodes.find((node) => node.nodeId === live.nodeId)).toMatchObject({ status: 'Active' });
    expect(await h.call('cluster_ReportNodeHeartbeat', silent.nodeToken, {})).toMatchObject({ status: 410, body: { error_code: 'NodeTerminated' } });
  });

  it('does not time out a node silent for exactly the timeout, only past it', async () => {
    h.passGrace();
    const node = await h.register();
    h.clock.advance(35_000);
    await h.coordinator.sweeper.sweep();
    expect((await details())[0]?.status).toBe('Active');
    h.clock.advance(1);
    await h.coordinator.sweeper.sweep();
    expect(await details()).toEqual([]);
    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken)).status).toBe(410);
  });

  it('answers 401 Unauthorized for the token of a node the coordinator does not know, as for a wrong secret', async () => {
    const { nodeToken } = await h.register();
    const forgotten = nodeToken.replace(/^npn_[0-9a-f]{8}/, 'npn_00000000');
    expect(await h.call('cluster_ReportNodeHeartbeat', forgotten)).toMatchObject({ status: 401, body: { error_code: 'Unauthorized' } });
    expect(await h.call('cluster_DeregisterNode', forgotten)).toMatchObject({ status: 401, body: { error_code: 'Unauthorized' } });
  });

  it('records facts, labels and a health report sent with a heartbeat on the instance', async () => {
    const { nodeId, nodeToken } = await h.register({ hostname: 'h1', labels: { region: 'eu' } });
    const facts = { cpu: { cpus: 4, source: 'host' as const }, memory: { totalBytes: 4 * 2 ** 30, source: 'host' as const } };
    const health = { status: 'critical' as const, checks: [{ name: 'disk', status: 'critical' as const, output: '2% free' }, { name: 'http', status: 'passing' as const }] };
    expect((await h.call('cluster_ReportNodeHeartbeat', nodeToken, { facts, health, labels: { region: 'us' } })).status).toBe(200);
    const instance = await h.store.getInstance((await h.store.getNode(nodeId))?.instanceId ?? -1);
    expect(instance).toMatchObject({ facts, labels: { region: 'us' }, healthStatus: 'critical', errors: 'disk: critical: 2% free', lastHealthCheck: h.clock.now() });
  });
});

describe('the published request schemas', () => {
  it('advertise no fields for the actions that take none (cleanup and lift sweep every cluster)', async () => {
    const doc = JSON.parse((await h.coordinator.app.inject({ method: 'GET', url: '/openapi.json' })).body);
    for (const action of ['cluster_CleanupInactiveNodes', 'coordinator_LiftSafetyHolds']) {
      const schema = doc.paths[`/api/v1/actions/invoke/${action}`].post.requestBody.content['application/json'].schema;
      expect(schema.properties ?? {}).toEqual({});
    }
  });
});
