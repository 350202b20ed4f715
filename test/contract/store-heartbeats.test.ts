import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/coordinator/store/store.ts';
import { STORES, registered, registration } from './stores.ts';

for (const impl of STORES) {
  describe(`store contract, heartbeat batches: ${impl.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;

    beforeAll(async () => ({ store, dispose } = await impl.open('heartbeats')));
    afterAll(async () => dispose?.());

    it('writes a batch of thousands of heartbeats, all of them, and names every node that is not Active', async () => {
      const cluster = await store.ensureCluster('fleet', 1000);
      const nodes: string[] = [];
      for (let i = 0; i < 2_500; i++) nodes.push((await registered(store, registration(cluster.id))).nodeId);
      const gone = [nodes[10]!, nodes[1_500]!, nodes[2_499]!];
      for (const nodeId of gone) await store.terminateNode(nodeId, 'Shutdown', 1_000_500);
      const batch = [...nodes.map((nodeId, i) => ({ nodeId, at: 2_000_000 + i })), { nodeId: 'no-such-node', at: 2_000_000 }];
      expect((await store.writeHeartbeats(batch)).sort()).toEqual([...gone, 'no-such-node'].sort());
      for (const index of [0, 999, 1_000, 2_001, 2_498]) expect((await store.getNode(nodes[index]!))?.lastHeartbeat).toBe(2_000_000 + index);
      expect(await store.findExpiredNodes(2_000_000, 10)).toEqual([]);
    });
  });
}
