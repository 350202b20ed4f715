import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN, ENROLL, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';
import { contractProblems } from '../../helpers/contracts.ts';
import { request } from './instances-helpers.ts';

const URL = '/runtime/api/v1/clusters';
const CLUSTER_KEYS = [
  'controller_last_updated', 'controller_status', 'controller_version', 'disabled_nodes_count', 'failed_nodes_count',
  'failed_to_install_nodes_count', 'id', 'monitored_at', 'name', 'nodes_count', 'provider', 'regions', 'running_nodes_count',
];

describe('POST /runtime/api/v1/clusters (seed 001)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('answers seed 001’s shape with string ids and an empty next_key on the last page', async () => {
    const response = await request(h, 'POST', URL, ADMIN, {});
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ total_count: 2, pagination: { limit: 10, next_key: '' } });
    const [first] = response.body.clusters;
    expect(Object.keys(first).sort()).toEqual(CLUSTER_KEYS);
    expect(first).toMatchObject({ id: expect.stringMatching(/^\d+$/), name: 'default', controller_status: 'running', provider: '', regions: [] });
  });

  it('visits each of 250 clusters exactly once with limit 7, even while clusters are added between pages', async () => {
    for (let i = 0; i < 248; i++) await h.store.ensureCluster(`c-${i}`, h.clock.now());
    const seen: string[] = [];
    let nextKey = '';
    let pages = 0;
    do {
      const page = await request(h, 'POST', URL, ADMIN, { limit: 7, next_key: nextKey });
      expect(page.status).toBe(200);
      expect(page.body.clusters.length).toBeLessThanOrEqual(7);
      seen.push(...page.body.clusters.map((cluster: { name: string }) => cluster.name));
      nextKey = page.body.pagination.next_key;
      if (pages++ % 5 === 0) await h.store.ensureCluster(`added-${pages}`, h.clock.now());
    } while (nextKey !== '');
    const total = (await request(h, 'POST', URL, ADMIN, { limit: 1 })).body.total_count;
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(total);
    expect(total).toBeGreaterThan(250);
    expect(seen.filter((name) => name.startsWith('c-'))).toHaveLength(248);
  });

  it('accepts a numeric string limit and refuses one out of 1-100 with {"error": ...}', async () => {
    expect((await request(h, 'POST', URL, ADMIN, { limit: '1' })).body.clusters).toHaveLength(1);
    for (const limit of [0, 101, '0', '101', 'ten', 2.5, -1]) {
      const response = await request(h, 'POST', URL, ADMIN, { limit });
      expect(response.status, String(limit)).toBe(400);
      expect(Object.keys(response.body)).toEqual(['error']);
      expect(response.body.error).toMatch(/limit/);
    }
    expect((await request(h, 'POST', URL, ADMIN, { limit: 100 })).status).toBe(200);
  });

  it('answers invalid JSON and a bad next_key with 400 {"error": ...}', async () => {
    const invalid = await request(h, 'POST', URL, ADMIN, '{ "limit": "50", "last_key": "id123", }');
    expect(invalid.status).toBe(400);
    expect(Object.keys(invalid.body)).toEqual(['error']);
    expect((await request(h, 'POST', URL, ADMIN, { next_key: 'id123' })).status).toBe(400);
  });

  it('is for admins only: 403 for readers, 401 without a token, both as {"error": ...}', async () => {
    const forbidden = await request(h, 'POST', URL, READER, {});
    expect(forbidden.status).toBe(403);
    expect(Object.keys(forbidden.body)).toEqual(['error']);
    const anonymous = await request(h, 'POST', URL, null, {});
    expect(anonymous.status).toBe(401);
    expect(Object.keys(anonymous.body)).toEqual(['error']);
  });

  it('answers every other failure under /runtime/api/v1/ as {"error": ...} too, with its status', async () => {
    const plain = async (method: 'GET' | 'POST', url: string, status: number, init: { body?: string; type?: string } = {}) => {
      const response = await h.coordinator.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${ADMIN}`, ...(init.type ? { 'content-type': init.type } : {}) },
        ...(init.body === undefined ? {} : { payload: init.body }),
      });
      expect(response.statusCode, `${method} ${url}`).toBe(status);
      const body = JSON.parse(response.body);
      expect(Object.keys(body), `${method} ${url}`).toEqual(['error']);
      expect(typeof body.error).toBe('string');
    };
    await plain('GET', URL, 404);
    await plain('POST', '/runtime/api/v1/nodes', 404);
    await plain('GET', '/runtime/api/v1', 404);
    await plain('POST', URL, 415, { body: '<limit>5</limit>', type: 'application/xml' });
    await plain('POST', URL, 413, { body: JSON.stringify({ next_key: 'x'.repeat(h.config.bodyLimitBytes) }), type: 'application/json' });
    vi.spyOn(h.store, 'countClusters').mockRejectedValueOnce(new Error('disk on fire'));
    await plain('POST', URL, 500, { body: '{}', type: 'application/json' });
    // Elsewhere the body stays {error_code, message, details}.
    const other = await request(h, 'GET', '/runtime/api/v2/clusters');
    expect(other.status).toBe(404);
    expect(Object.keys(other.body).sort()).toEqual(['details', 'error_code', 'message']);
  });

  it('accepts a request without a body: every field is optional', async () => {
    const response = await h.coordinator.app.inject({ method: 'POST', url: URL, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).pagination.limit).toBe(10);
  });

  it('counts instances as design.md defines: running, failed, failed to install, disabled', async () => {
    await h.register({ hostname: 'running-1', labels: { region: 'eu-west-1' } });
    await h.register({ hostname: 'running-2', labels: { region: 'us-east-1' } });
    await h.register({ hostname: 'will-time-out' });
    const stopped = await h.register({ hostname: 'stopped' });
    await h.call('cluster_DeregisterNode', stopped.nodeToken, {});
    await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'broken', node_state: 'provision-fail' });
    await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'off', enabled: false });
    const cluster = await h.store.findClusterByName('default');
    await h.store.updateCluster(cluster!.id, { provider: 'kubernetes', regions: ['eu-west-1', 'ap-south-1'] });
    // Everyone but the timed-out host keeps heartbeating while time passes.
    h.passGrace();
    const tokens = [];
    for (const [host, region] of [['running-1', 'eu-west-1'], ['running-2', 'us-east-1']]) tokens.push((await h.register({ hostname: host, labels: { region } })).nodeToken);
    h.clock.advance(35_001);
    for (const token of tokens) await h.call('cluster_ReportNodeHeartbeat', token, {});
    await h.coordinator.sweeper.sweep();
    const [found] = (await request(h, 'POST', URL, ADMIN, { limit: 1 })).body.clusters;
    expect(found).toMatchObject({
      name: 'default',
      provider: 'kubernetes',
      regions: ['ap-south-1', 'eu-west-1', 'us-east-1'],
      nodes_count: 6,
      running_nodes_count: 2,
      failed_nodes_count: 1,
      failed_to_install_nodes_count: 1,
      disabled_nodes_count: 1,
    });
  });

  it('includes each cluster’s Active nodes on request', async () => {
    const node = await h.register({ hostname: 'a' }, ENROLL);
    const response = await request(h, 'POST', URL, ADMIN, { include_nodes: true });
    const byName = Object.fromEntries(response.body.clusters.map((cluster: { name: string }) => [cluster.name, cluster]));
    expect(byName.default.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual([node.nodeId]);
    expect(byName.other.nodes).toEqual([]);
    expect(contractProblems('nexigon', 'nexigon_api.cluster.ClusterNode', byName.default.nodes[0])).toEqual([]);
    expect((await request(h, 'POST', URL, ADMIN, {})).body.clusters[0].nodes).toBeUndefined();
  });
});
