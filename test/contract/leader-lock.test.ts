import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLeaderLock, openStore } from '../../src/coordinator/store/open-store.ts';
import type { Store } from '../../src/coordinator/store/store.ts';
import { type TestDatabase, createTestDatabase } from '../helpers/postgres.ts';

describe('the PostgreSQL leader lock', () => {
  let database: TestDatabase;
  const stores: Store[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('leader_lock');
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await database?.drop();
  });

  async function lock() {
    const store = await openStore(database.url, { poolSize: 1 });
    stores.push(store);
    const leaderLock = openLeaderLock(store);
    if (!leaderLock) throw new Error('a PostgreSQL store has a leader lock');
    return leaderLock;
  }

  it('is held by one replica at a time and passes on when released', async () => {
    const [first, second] = [await lock(), await lock()];
    expect(await first.tryAcquire()).toBe(true);
    expect(await second.tryAcquire()).toBe(false);
    expect(await first.stillHeld()).toBe(true);
    expect(await second.stillHeld()).toBe(false);
    await first.release();
    expect(await first.stillHeld()).toBe(false);
    expect(await second.tryAcquire()).toBe(true);
    expect(await second.stillHeld()).toBe(true);
    await second.release();
  });

  it('is released by the server when the holder\'s connection dies', async () => {
    const [first, second] = [await lock(), await lock()];
    expect(await first.tryAcquire()).toBe(true);
    // Kill the holder's session from the outside, as a crash would close it.
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'nodepulse-leader' AND datname = current_database()",
    );
    await admin.end();
    // The holder learns it either from the connection's error event or from the failing check.
    expect(await first.stillHeld().catch(() => false)).toBe(false);
    expect(await second.tryAcquire()).toBe(true);
    await second.release();
  });

  it('does not exist for SQLite, whose one process always leads', async () => {
    const store = await openStore(':memory:', { poolSize: 1 });
    stores.push(store);
    expect(openLeaderLock(store)).toBeUndefined();
  });
});
