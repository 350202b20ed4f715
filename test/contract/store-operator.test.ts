import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterRecord, InstanceFields, MonitorEventRecord, Store } from '../../src/coordinator/store/store.ts';
import { STORES, registered, registration } from './stores.ts';

const FIELDS: InstanceFields = {
  hostname: 'made-by-admin',
  capacityAdjustment: '0.50',
  enabled: true,
  managedByPolicy: false,
  nodeType: 'execution',
  nodeState: 'installed',
  listenerPort: 27199,
  peers: ['a', 'b'],
  peersFromControlNodes: true,
};

function event(id: string, recordedAt: number, allHealthy = true): MonitorEventRecord {
  const report = { status: allHealthy ? ('Healthy' as const) : ('Unhealthy' as const), selfInfo: `self ${id}`, resourcesInfo: `res ${id}` };
  return { id, recordedAt, allHealthy, components: { api: report, compiler: report, runner: report } };
}

for (const impl of STORES) {
  describe(`store contract, operator APIs: ${impl.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    let cluster: ClusterRecord;

    beforeAll(async () => {
      ({ store, dispose } = await impl.open('operator'));
      cluster = await store.ensureCluster('default', 1000);
    });
    afterAll(async () => dispose?.());

    it('creates, updates, filters and deletes instances', async () => {
      const created = await store.createInstance({ ...FIELDS, clusterId: cluster.id, uuid: 'uuid-admin', now: 100 });
      expect(created.outcome).toBe('ok');
      if (created.outcome !== 'ok') return;
      expect(created.instance).toMatchObject({ ...FIELDS, clusterId: cluster.id, uuid: 'uuid-admin', createdAt: 100, modifiedAt: 100, healthCheckPending: false });
      expect(await store.createInstance({ ...FIELDS, clusterId: cluster.id, uuid: 'uuid-other', now: 100 })).toEqual({ outcome: 'hostname-taken' });

      const updated = await store.updateInstance(created.instance.id, { enabled: false, peers: [] }, 200);
      expect(updated).toMatchObject({ outcome: 'ok', instance: { enabled: false, peers: [], modifiedAt: 200, hostname: 'made-by-admin' } });
      expect(await store.updateInstance(99_999, { enabled: true }, 200)).toEqual({ outcome: 'not-found' });
      await store.createInstance({ ...FIELDS, hostname: 'second', clusterId: cluster.id, uuid: 'uuid-second', now: 100 });
      expect(await store.updateInstance(created.instance.id, { hostname: 'second' }, 300)).toEqual({ outcome: 'hostname-taken' });

      expect((await store.listInstances({ hostname: 'made-by-admin' })).map((i) => i.id)).toEqual([created.instance.id]);
      expect((await store.listInstances({ enabled: false })).map((i) => i.id)).toEqual([created.instance.id]);
      expect(await store.listInstances({ clusterIds: [] })).toEqual([]);
      expect((await store.listInstances({ clusterIds: [cluster.id] })).length).toBeGreaterThanOrEqual(2);
      expect(await store.getInstance(created.instance.id)).toEqual((await store.listInstances({ hostname: 'made-by-admin' }))[0]);

      expect(await store.deleteInstance(created.instance.id)).toBe('deleted');
      expect(await store.deleteInstance(created.instance.id)).toBe('not-found');
      expect(await store.getInstance(created.instance.id)).toBeUndefined();
    });

    it('counts the instances a filter matches and reads one page of them in id order', async () => {
      const paged = await store.ensureCluster('paged', 1000);
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const created = await store.createInstance({ ...FIELDS, hostname: `page-${i}`, enabled: i !== 2, clusterId: paged.id, uuid: `uuid-page-${i}`, now: 100 });
        if (created.outcome !== 'ok') throw new Error('not created');
        ids.push(created.instance.id);
      }
      const filter = { clusterIds: [paged.id] };
      expect(await store.countInstances(filter)).toBe(5);
      expect(await store.countInstances({ ...filter, enabled: false })).toBe(1);
      expect(await store.countInstances({ clusterIds: [] })).toBe(0);
      expect((await store.listInstances(filter, { offset: 1, limit: 2 })).map((instance) => instance.id)).toEqual(ids.slice(1, 3));
      expect((await store.listInstances({ ...filter, enabled: true }, { offset: 2, limit: 10 })).map((instance) => instance.id)).toEqual([ids[3], ids[4]]);
      expect(await store.listInstances(filter, { offset: 5, limit: 10 })).toEqual([]);
    });

    it('refuses to delete an instance with an Active node, and deletes it with its Terminated nodes', async () => {
      const { nodeId, instanceId } = await registered(store, registration(cluster.id, { hostname: 'busy' }));
      expect(await store.deleteInstance(instanceId)).toBe('active-node');
      await store.terminateNode(nodeId, 'Shutdown', 2_000_000);
      expect(await store.deleteInstance(instanceId)).toBe('deleted');
      expect(await store.getNode(nodeId)).toBeUndefined();
    });

    it('lets a registration claim an instance an admin created, by hostname', async () => {
      const created = await store.createInstance({ ...FIELDS, hostname: 'pre-made', clusterId: cluster.id, uuid: 'uuid-pre', now: 100 });
      if (created.outcome !== 'ok') throw new Error('not created');
      const { instanceId } = await registered(store, registration(cluster.id, { hostname: 'pre-made', facts: { agentVersion: '1.0.0' } }));
      expect(instanceId).toBe(created.instance.id);
      expect((await store.getInstance(instanceId))?.facts).toEqual({ agentVersion: '1.0.0' });
    });

    it('answers the newest node of each instance, its Active node first', async () => {
      // The agent restarted on the same boot: its new node supersedes the old one.
      const first = await registered(store, registration(cluster.id, { hostname: 'latest', bootId: 'boot-1', now: 10 }));
      const second = await registered(store, registration(cluster.id, { hostname: 'latest', bootId: 'boot-1', now: 20 }));
      const lone = await registered(store, registration(cluster.id, { hostname: 'lone', now: 30 }));
      await store.terminateNode(lone.nodeId, 'Shutdown', 40);
      const latest = await store.latestNodes([first.instanceId, lone.instanceId, 99_999]);
      const byInstance = new Map(latest.map((node) => [node.instanceId, node]));
      expect(latest).toHaveLength(2);
      expect(byInstance.get(first.instanceId)).toMatchObject({ nodeId: second.nodeId, status: 'Active' });
      expect(byInstance.get(lone.instanceId)).toMatchObject({ nodeId: lone.nodeId, status: 'Terminated' });
      expect(await store.latestNodes([])).toEqual([]);
    });

    it('records facts, labels and health reports on the instance', async () => {
      const { instanceId } = await registered(store, registration(cluster.id, { hostname: 'reporting' }));
      await store.recordInstanceReport(instanceId, { facts: { os: 'linux' }, labels: { rack: 'r1' }, now: 500 });
      await store.recordInstanceReport(instanceId, {
        health: { status: 'critical', checks: [{ name: 'disk', status: 'critical', output: 'full' }, { name: 'cpu', status: 'passing' }] },
        now: 600,
      });
      expect(await store.getInstance(instanceId)).toMatchObject({
        facts: { os: 'linux' },
        labels: { rack: 'r1' },
        healthStatus: 'critical',
        errors: 'disk: critical: full',
        lastHealthCheck: 600,
        modifiedAt: 600,
      });
    });

    it('starts one health check at a time, lists pending ones and fails the stale ones once', async () => {
      const { instanceId } = await registered(store, registration(cluster.id, { hostname: 'checked' }));
      expect(await store.requestHealthCheck(instanceId, 1000)).toBe('started');
      expect(await store.requestHealthCheck(instanceId, 1001)).toBe('already-pending');
      expect(await store.requestHealthCheck(99_999, 1001)).toBe('not-found');
      expect(await store.listPendingHealthChecks()).toContainEqual({ instanceId, startedAt: 1000 });
      expect(await store.failHealthChecks(1000, 'timed out', 2000)).toEqual([]);
      expect(await store.failHealthChecks(1500, 'timed out', 2000)).toEqual([instanceId]);
      expect(await store.failHealthChecks(1500, 'timed out', 2001)).toEqual([]);
      expect(await store.getInstance(instanceId)).toMatchObject({ healthCheckPending: false, errors: 'timed out' });
      // A report clears a pending check.
      await store.requestHealthCheck(instanceId, 3000);
      await store.recordInstanceReport(instanceId, { health: { status: 'passing', checks: [] }, now: 3100 });
      expect(await store.getInstance(instanceId)).toMatchObject({ healthCheckPending: false, lastHealthCheck: 3100, errors: '' });
    });

    it('stores monitor events, lists them newest first and prunes but never the newest', async () => {
      for (const [index, at] of [100, 200, 300, 400].entries()) await store.insertEvent(event(`ev-${index}`, at, index !== 2));
      expect(await store.getEvent('ev-2')).toEqual(event('ev-2', 300, false));
      expect(await store.getEvent('missing')).toBeUndefined();
      expect((await store.listEvents(3)).map((e) => e.id)).toEqual(['ev-3', 'ev-2', 'ev-1']);
      expect(await store.pruneEvents(10, 250)).toBe(2);
      expect((await store.listEvents(10)).map((e) => e.id)).toEqual(['ev-3', 'ev-2']);
      expect(await store.pruneEvents(1, 0)).toBe(1);
      expect(await store.pruneEvents(10, 10_000)).toBe(0);
      expect((await store.listEvents(10)).map((e) => e.id)).toEqual(['ev-3']);
    });
  });
}
