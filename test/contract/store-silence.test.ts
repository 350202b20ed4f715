import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/coordinator/store/store.ts';
import { STORES, registered, registration } from './stores.ts';

/** The mass-silence guard's counts: exact aggregates per cluster, the same on every store. */
for (const impl of STORES) {
  describe(`silence counts: ${impl.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      ({ store, dispose } = await impl.open('silence'));
    });
    afterAll(async () => dispose?.());

    it('counts per cluster the expired and the overdue Active nodes, and names only clusters with an expired node', async () => {
      const cut = await store.ensureCluster('cut', 1);
      const quiet = await store.ensureCluster('quiet', 1);
      const healthy = await store.ensureCluster('healthy', 1);
      for (const at of [100, 200, 300]) await registered(store, registration(cut.id, { now: at })); // expired
      for (const at of [5_000, 6_000]) await registered(store, registration(cut.id, { now: at })); // overdue only
      await registered(store, registration(cut.id, { now: 9_500 })); // fresh
      const gone = await registered(store, registration(cut.id, { now: 50 }));
      await store.terminateNode(gone.nodeId, 'Shutdown', 60); // not Active: not counted
      await registered(store, registration(quiet.id, { now: 5_500 })); // overdue, none expired
      await registered(store, registration(healthy.id, { now: 9_900 }));

      const silence = await store.silenceByCluster(1_000, 8_000);
      expect(silence).toEqual([{ clusterId: cut.id, expired: 3, overdue: 5 }]);
      expect(await store.silenceByCluster(0, 8_000)).toEqual([]);
    });

    it('counts a cluster\'s time-outs from its window start, not its other terminations', async () => {
      const cluster = await store.ensureCluster('timed-out', 1);
      const nodes = [];
      for (let index = 0; index < 5; index += 1) nodes.push(await registered(store, registration(cluster.id, { now: 100 })));
      await store.terminateExpired([nodes[0]!.nodeId, nodes[1]!.nodeId], 1_000, 10_000);
      await store.terminateExpired([nodes[2]!.nodeId], 1_000, 20_000);
      await store.terminateNode(nodes[3]!.nodeId, 'Shutdown', 20_000);
      const other = await store.ensureCluster('timed-out-other', 1);
      const elsewhere = await registered(store, registration(other.id, { now: 100 }));
      await store.terminateExpired([elsewhere.nodeId], 1_000, 20_000);

      const counts = await store.countTimedOut(new Map([[cluster.id, 10_000], [other.id, 25_000]]));
      expect(counts).toEqual(new Map([[cluster.id, 3], [other.id, 0]]));
      expect(await store.countTimedOut(new Map([[cluster.id, 15_000]]))).toEqual(new Map([[cluster.id, 1]]));
    });

    it('reads one cluster\'s expired nodes oldest first, one page at a time', async () => {
      const cluster = await store.ensureCluster('paged', 1);
      const other = await store.ensureCluster('paged-other', 1);
      const ids = [];
      for (const at of [300, 100, 200]) ids.push((await registered(store, registration(cluster.id, { now: at }))).nodeId);
      await registered(store, registration(other.id, { now: 10 }));
      const page = await store.findExpiredNodes(1_000, 2, cluster.id);
      expect(page.map((node) => node.nodeId)).toEqual([ids[1], ids[2]]);
      expect(page.every((node) => node.clusterId === cluster.id)).toBe(true);
    });
  });
}
