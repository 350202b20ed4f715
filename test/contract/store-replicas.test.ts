import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/coordinator/store/store.ts';
import { STORES } from './stores.ts';

for (const impl of STORES) {
  describe(`store contract, replica presence: ${impl.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;

    beforeAll(async () => ({ store, dispose } = await impl.open('replicas')));
    afterAll(async () => dispose?.());

    it('counts the replicas seen recently and forgets the long-gone ones', async () => {
      await store.touchReplica('a', 1_000, 10_000, 0);
      await store.touchReplica('b', 1_000, 20_000, 0);
      await store.touchReplica('a', 1_000, 30_000, 0);
      expect(await store.countReplicas(25_000)).toBe(1);
      expect(await store.countReplicas(15_000)).toBe(2);
      await store.touchReplica('c', 29_000, 40_000, 25_000);
      expect(await store.countReplicas(0)).toBe(2);
    });
  });
}
