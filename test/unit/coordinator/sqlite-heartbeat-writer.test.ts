import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatUpdate } from '../../../src/coordinator/store/sqlite/heartbeat-update.ts';
import { SqliteStore } from '../../../src/coordinator/store/sqlite/sqlite-store.ts';
import { seedFleet } from '../../../bench/lib/fleet-seed.ts';
import { registered, registration } from '../../contract/stores.ts';

/**
 * The SQLite store writes heartbeat batches on a worker thread with its own connection: SQLite
 * has one writer, so the coordinator's own writes must get the lock between the worker's short
 * transactions, and the worker must come back after it ended.
 */
describe('SQLite heartbeat writes on a worker thread', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nodepulse-writer-'));
    store = new SqliteStore(join(dir, 'store.db'));
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets writes on the coordinator thread through while the worker writes a large batch', async () => {
    await store.close();
    const nodes = await seedFleet(join(dir, 'store.db'), 20_000, 1_000);
    store = new SqliteStore(join(dir, 'store.db'));
    const cluster = await store.ensureCluster('other', 1_000);
    const batch = store.writeHeartbeats(nodes.map((node, i) => ({ nodeId: node.nodeId, at: 2_000_000 + i })));
    // Registrations and a termination during the batch: each waits for the lock at most one short transaction.
    const during = await Promise.all([registered(store, registration(cluster.id)), registered(store, registration(cluster.id))]);
    await store.terminateNode(nodes[19_999]!.nodeId, 'Shutdown', 1_500);
    const dropped = await batch;
    expect(during).toHaveLength(2);
    // The termination may land before or after the worker reached that row: either way the node stays Terminated.
    expect(dropped.filter((id) => id !== nodes[19_999]!.nodeId)).toEqual([]);
    expect((await store.getNode(nodes[19_999]!.nodeId))?.status).toBe('Terminated');
    expect((await store.getNode(nodes[12_345]!.nodeId))?.lastHeartbeat).toBe(2_012_345);
  });

  it('checkpoints after each batch: the heartbeats reach the database file and the WAL does not grow batch after batch', async () => {
    await store.close();
    const file = join(dir, 'store.db');
    const nodes = await seedFleet(file, 20_000, 1_000);
    store = new SqliteStore(file);
    const walSizes: number[] = [];
    for (let round = 1; round <= 6; round++) {
      expect(await store.writeHeartbeats(nodes.map((node) => ({ nodeId: node.nodeId, at: round * 1_000_000 })))).toEqual([]);
      walSizes.push(statSync(`${file}-wal`).size);
    }
    // Each batch rewrites every page of the table and its deadline index: unchecked, the WAL would hold six times one batch.
    expect(Math.max(...walSizes)).toBeLessThan(2 * walSizes[0]!);
    // The file alone, without its WAL, already holds the last batch.
    copyFileSync(file, join(dir, 'alone.db'));
    const alone = new Database(join(dir, 'alone.db'), { readonly: true });
    try {
      expect(alone.prepare('SELECT MIN(last_heartbeat) AS oldest FROM nodes').get()).toEqual({ oldest: 6_000_000 });
    } finally {
      alone.close();
    }
  });

  it('starts a new worker for the next batch after the last one ended', async () => {
    const cluster = await store.ensureCluster('default', 1_000);
    const { nodeId } = await registered(store, registration(cluster.id));
    expect(await store.writeHeartbeats([{ nodeId, at: 1_001_000 }])).toEqual([]);
    const thread = (store as unknown as { writeThread: { close(): Promise<void> } }).writeThread;
    await thread.close();
    expect(await store.writeHeartbeats([{ nodeId, at: 1_002_000 }, { nodeId: 'gone', at: 1_002_000 }])).toEqual(['gone']);
    expect((await store.getNode(nodeId))?.lastHeartbeat).toBe(1_002_000);
  });
});

describe('heartbeats written in the table\'s row order', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodepulse-row-order-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every node its own heartbeat, drops the unknown and the ended, and finds a row renumbered since the lookup', async () => {
    const file = join(dir, 'store.db');
    const nodes = await seedFleet(file, 2_000, 1_000);
    const db = new Database(file);
    try {
      const update = heartbeatUpdate(db);
      const ids = [...nodes.map((node) => node.nodeId), 'never-registered'];
      const ats = ids.map((_id, i) => 5_000 + i);
      const { writes, unknown } = update.inRowOrder(ids, ats);
      expect(unknown).toEqual(['never-registered']);
      // Between the lookup and the write: one node ends, another's row moves to a new rowid.
      const [ended, moved] = [nodes[7]!.nodeId, nodes[1_234]!.nodeId];
      db.prepare("UPDATE nodes SET status = 'Terminated' WHERE id = ?").run(ended);
      db.transaction(() => {
        const row = db.prepare('SELECT * FROM nodes WHERE id = ?').get(moved) as Record<string, unknown>;
        db.prepare('DELETE FROM nodes WHERE id = ?').run(moved);
        db.prepare(`INSERT INTO nodes (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map((key) => `@${key}`).join(', ')})`).run(row);
      })();
      const dropped = [...update.writeSlice(writes.slice(0, 1_000)), ...update.writeSlice(writes.slice(1_000))];
      expect(dropped).toEqual([ended]);
      const stored = new Map(db.prepare('SELECT id, last_heartbeat FROM nodes').all().map((row) => [(row as { id: string }).id, (row as { last_heartbeat: number }).last_heartbeat]));
      nodes.forEach((node, i) => expect(stored.get(node.nodeId)).toBe(node.nodeId === ended ? 1_000 : 5_000 + i));
    } finally {
      db.close();
    }
  });
});
