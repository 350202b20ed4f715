import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterRecord, Store } from '../../src/coordinator/store/store.ts';
import { STORES, registered, registration } from './stores.ts';

for (const impl of STORES) {
  describe(`webhook outbox contract: ${impl.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    let cluster: ClusterRecord;

    beforeAll(async () => {
      ({ store, dispose } = await impl.open('outbox'));
      cluster = await store.ensureCluster('default', 1000);
    });
    afterAll(async () => dispose?.());

    /** Registers `count` nodes and returns the ids of their transitions. */
    async function events(count: number, now = 1_000_000): Promise<number[]> {
      const before = (await store.transitionIdRange())?.newest ?? 0;
      for (let i = 0; i < count; i++) await registered(store, registration(cluster.id, { now }));
      return (await store.transitionsAfter(before, 1000)).map((transition) => transition.id);
    }

    it('gives a new sink its cursor once, and never moves a cursor back', async () => {
      const outbox = store.webhookOutbox;
      expect(await outbox.cursor('cursor-sink')).toBeNull();
      await outbox.startCursor('cursor-sink', 5, 1000);
      await outbox.startCursor('cursor-sink', 9, 1001);
      expect(await outbox.cursor('cursor-sink')).toBe(5);
      await outbox.enqueue('cursor-sink', [], 12, 1002);
      expect(await outbox.cursor('cursor-sink')).toBe(12);
      await outbox.enqueue('cursor-sink', [], 7, 1003);
      expect(await outbox.cursor('cursor-sink')).toBe(12);
    });

    it('holds each event once per sink and hands out the oldest undelivered one with its transition', async () => {
      const outbox = store.webhookOutbox;
      const [a, b, c] = await events(3);
      await outbox.enqueue('one', [a!, b!], b!, 2000);
      // Enqueued again (a replica that led a moment ago): no second row.
      await outbox.enqueue('one', [b!, c!], c!, 2001);
      await outbox.enqueue('two', [c!], c!, 2001);
      expect(await outbox.depth()).toEqual(new Map([['one', 3], ['two', 1]]));

      const head = await outbox.next('one');
      expect(head).toMatchObject({ eventId: a, attempts: 0, nextAttemptAt: 2000, transition: { id: a, kind: 'node-registered', clusterId: cluster.id } });
      await outbox.failed('one', a!, { attempts: 1, nextAttemptAt: 5000, error: 'answered 503' });
      expect(await outbox.next('one')).toMatchObject({ eventId: a, attempts: 1, nextAttemptAt: 5000 });
      await outbox.delivered('one', a!, 6000);
      // A late failure record (a replica that lost the lead meanwhile) does not undo a delivery.
      await outbox.failed('one', a!, { attempts: 2, nextAttemptAt: 9000, error: 'late' });
      expect(await outbox.next('one')).toMatchObject({ eventId: b, attempts: 0 });
      await outbox.discard('one', b!);
      expect((await outbox.next('one'))?.eventId).toBe(c);
      expect(await outbox.depth()).toEqual(new Map([['one', 1], ['two', 1]]));
      await outbox.delivered('one', c!, 6000);
      await outbox.delivered('two', c!, 6000);
      expect(await outbox.next('one')).toBeUndefined();
      expect(await outbox.depth()).toEqual(new Map());
    });

    it('enqueues thousands of events in one call', async () => {
      const ids = Array.from({ length: 2500 }, (_, index) => 1_000_000 + index);
      await store.webhookOutbox.enqueue('bulk', ids, ids.at(-1)!, 3000);
      expect((await store.webhookOutbox.depth()).get('bulk')).toBe(2500);
      expect(await store.webhookOutbox.cursor('bulk')).toBe(ids.at(-1));
      expect((await store.webhookOutbox.next('bulk'))?.transition).toBeNull();
    });

    it('prunes rows delivered before the cutoff and rows whose event retention deleted, a batch at a time, keeping the rest', async () => {
      const outbox = store.webhookOutbox;
      while ((await outbox.prune(Number.MAX_SAFE_INTEGER, 10_000)) > 0);
      const [old, kept] = await events(2, 2_000_000);
      const [pending] = await events(1, 3_000_000);
      await outbox.enqueue('prune', [old!, kept!, pending!], pending!, 4000);
      await outbox.delivered('prune', old!, 4100);
      await outbox.delivered('prune', kept!, 4900);
      expect(await outbox.prune(4500, 1000)).toBe(1);
      expect((await outbox.depth()).get('prune')).toBe(1);
      // Retention deletes every event before the pending one's: the rows of those events go, delivered or not.
      const ghost = 1;
      await outbox.enqueue('prune', [ghost], pending!, 4000);
      await store.pruneTransitions(2_500_000, 100_000);
      expect((await store.transitionIdRange())?.oldest).toBeGreaterThan(ghost);
      expect(await outbox.prune(0, 1000)).toBe(2);
      expect((await outbox.next('prune'))?.eventId).toBe(pending);
      expect((await outbox.depth()).get('prune')).toBe(1);
    });
  });
}
