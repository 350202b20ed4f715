import { afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteStore } from '../../../src/coordinator/store/sqlite/sqlite-store.ts';

/**
 * What the coordinator's own timers ask the store every second or few (a sweep with nothing
 * expiring, the health-check refresh, replica presence, ended maintenance windows) must read an
 * index, never walk the nodes or instances table: at a million instances one such walk held
 * every request up for ~70 ms. Checked on SQLite's query plans, which name a table walk `SCAN t`.
 */
describe('queries the coordinator runs on its timers', () => {
  let store: SqliteStore;
  afterEach(async () => {
    vi.restoreAllMocks();
    await store.close();
  });

  it('read indexes, never a whole table of nodes or instances', async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    const texts = new Set<string>();
    const prepare = store.db.prepare.bind(store.db);
    vi.spyOn(store.db, 'prepare').mockImplementation(((text: string) => {
      texts.add(text);
      return prepare(text);
    }) as typeof store.db.prepare);
    const now = 1_000_000;
    await store.oldestActiveHeartbeat();
    await store.findExpiredNodes(now - 35_000, 1_000);
    await store.silenceByCluster(now - 35_000, now - 18_000);
    await store.failHealthChecks(now - 60_000, 'timed out', now);
    await store.listPendingHealthChecks();
    await store.recordMaintenanceEnds(now - 1_000, now);
    await store.touchReplica('replica-a', now, now, now - 30_000);
    await store.countReplicas(now - 30_000);
    vi.restoreAllMocks();
    expect(texts.size).toBeGreaterThanOrEqual(8);
    const walks = [...texts].flatMap((text) =>
      // Every parameter a NULL: the plan does not depend on the values.
      (store.db.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...new Array<null>(text.split('?').length - 1).fill(null)) as { detail: string }[])
        .map((step) => step.detail)
        .filter((detail) => /^SCAN (nodes|instances)$/.test(detail))
        .map((detail) => `${detail}: ${text}`),
    );
    expect(walks).toEqual([]);
  });
});
