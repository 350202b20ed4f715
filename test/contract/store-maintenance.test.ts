import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/coordinator/store/store.ts';
import { DEFAULT_INSTANCE_FIELDS, STORES, registered, registration } from './stores.ts';

/** Instances' maintenance windows (migration 10) and what the sweeper reads of them, the same on every store. */
for (const impl of STORES) {
  describe(`maintenance windows: ${impl.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      ({ store, dispose } = await impl.open('maintenance'));
    });
    afterAll(async () => dispose?.());

    const kinds = async (instanceId: number) =>
      (await store.instanceHistory(instanceId, 0, 50)).map((entry) => [entry.kind, entry.reason, entry.evidence]);

    it('sets a window on an instance that never registered, logging each change once, and ends it', async () => {
      const cluster = await store.ensureCluster('windows', 1);
      const created = await store.createInstance({ ...DEFAULT_INSTANCE_FIELDS, hostname: 'planned', clusterId: cluster.id, uuid: 'uuid-planned', now: 10 });
      if (created.outcome !== 'ok') throw new Error(created.outcome);
      expect(created.instance).toMatchObject({ maintenanceUntil: null, maintenanceReason: '' });
      const id = created.instance.id;

      const set = await store.setMaintenance(id, { until: 5_000, reason: 'kernel upgrade' }, 100);
      expect(set).toMatchObject({ outcome: 'ok', instance: { maintenanceUntil: 5_000, maintenanceReason: 'kernel upgrade', modifiedAt: 100 } });
      await store.setMaintenance(id, { until: 5_000, reason: 'kernel upgrade' }, 200);
      await store.setMaintenance(id, { until: 9_000, reason: 'kernel upgrade' }, 300);
      await store.setMaintenance(id, { until: null, reason: '' }, 400);
      expect(await kinds(id)).toEqual([
        ['maintenance-changed', 'ended', { until: null, reason: '', setBy: 'admin' }],
        ['maintenance-changed', 'changed', { until: 9_000, reason: 'kernel upgrade', setBy: 'admin' }],
        ['maintenance-changed', 'started', { until: 5_000, reason: 'kernel upgrade', setBy: 'admin' }],
      ]);
      expect(await store.getInstance(id)).toMatchObject({ maintenanceUntil: null, maintenanceReason: '' });
      expect(await store.setMaintenance(2_000_000_000, { until: 1, reason: '' }, 500)).toEqual({ outcome: 'not-found' });
    });

    it('lists the instances in maintenance and records the windows that ended in a range, once', async () => {
      const cluster = await store.ensureCluster('ending', 1);
      const ids: number[] = [];
      for (const [hostname, until] of [['ends-early', 20_000], ['ends-late', 40_000], ['none', null]] as const) {
        const created = await store.createInstance({ ...DEFAULT_INSTANCE_FIELDS, hostname, clusterId: cluster.id, uuid: `uuid-${hostname}`, now: 10 });
        if (created.outcome !== 'ok') throw new Error(created.outcome);
        ids.push(created.instance.id);
        if (until !== null) await store.setMaintenance(created.instance.id, { until, reason: hostname }, 10);
      }
      const inMaintenance = (await store.instancesInMaintenance(15_000)).filter((entry) => entry.clusterId === cluster.id);
      expect(inMaintenance).toEqual([
        { instanceId: ids[0], clusterId: cluster.id, until: 20_000 },
        { instanceId: ids[1], clusterId: cluster.id, until: 40_000 },
      ]);
      expect((await store.instancesInMaintenance(30_000)).map((entry) => entry.instanceId)).toContain(ids[1]);
      expect((await store.instancesInMaintenance(30_000)).map((entry) => entry.instanceId)).not.toContain(ids[0]);

      expect(await store.recordMaintenanceEnds(15_000, 30_000)).toBe(1);
      expect(await store.recordMaintenanceEnds(30_000, 35_000)).toBe(0);
      const [ended] = await store.instanceHistory(ids[0]!, 0, 1);
      expect(ended).toMatchObject({ kind: 'maintenance-changed', reason: 'ended', recordedAt: 30_000, clusterId: cluster.id, evidence: { until: 20_000, reason: 'ends-early', setBy: 'coordinator' } });
    });

    it('counts a cluster’s Active nodes in maintenance and the silent ones, and marks their time-outs as expected', async () => {
      const cluster = await store.ensureCluster('planned-silence', 1);
      const other = await store.ensureCluster('planned-silence-other', 1);
      const planned = await registered(store, registration(cluster.id, { now: 100, hostname: 'p-1' }));
      const plannedFresh = await registered(store, registration(cluster.id, { now: 9_000, hostname: 'p-2' }));
      const lost = await registered(store, registration(cluster.id, { now: 100, hostname: 'p-3' }));
      const elsewhere = await registered(store, registration(other.id, { now: 100, hostname: 'p-4' }));
      for (const node of [planned, plannedFresh, elsewhere]) await store.setMaintenance(node.instanceId, { until: 50_000, reason: 'rack move' }, 100);

      expect(await store.maintenanceSilence(cluster.id, 10_000, 5_000)).toEqual({ active: 2, overdue: 1 });
      expect(await store.maintenanceSilence(cluster.id, 60_000, 5_000)).toEqual({ active: 0, overdue: 0 });
      // One cluster's silence by its own cutoffs.
      expect(await store.silenceByCluster(1_000, 5_000, cluster.id)).toEqual([{ clusterId: cluster.id, expired: 2, overdue: 2 }]);
      expect(await store.silenceByCluster(50, 5_000, cluster.id)).toEqual([]);

      const ended = await store.terminateExpired([planned.nodeId, lost.nodeId], 1_000, 10_000, { decidedBy: 'test' });
      expect(new Set(ended)).toEqual(new Set([planned.nodeId, lost.nodeId]));
      const [plannedEnd] = await store.instanceHistory(planned.instanceId, 0, 1);
      expect(plannedEnd).toMatchObject({ kind: 'node-terminated', reason: 'HeartbeatTimeout', evidence: { maintenance: { until: 50_000, reason: 'rack move' }, deadline: 9_100 } });
      const [lostEnd] = await store.instanceHistory(lost.instanceId, 0, 1);
      expect(lostEnd!.evidence).not.toHaveProperty('maintenance');
      // The guard counts the lost node among the recent time-outs, not the planned one.
      expect(await store.countTimedOut(new Map([[cluster.id, 5_000]]))).toEqual(new Map([[cluster.id, 1]]));
    });
  });
}
