import { expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/coordinator/store/migrations.ts';
import { openStore } from '../../src/coordinator/store/open-store.ts';
import type { PgStore } from '../../src/coordinator/store/postgres/pg-store.ts';
import { createTestDatabase } from '../helpers/postgres.ts';

it('migrates once when several replicas start together on an empty PostgreSQL database', async () => {
  const database = await createTestDatabase('migrations');
  const replicas = await Promise.all([1, 2, 3].map(() => openStore(database.url, { poolSize: 2 })));
  try {
    await Promise.all(replicas.map((store) => store.migrate()));
    const applied = await (replicas[0] as PgStore).pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(applied.rows.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
    // Every replica works on the schema: one registers a cluster, another sees it.
    await replicas[1]!.ensureCluster('shared', 1);
    expect((await replicas[2]!.findClusterByName('shared'))?.name).toBe('shared');
  } finally {
    for (const store of replicas) await store.close();
    await database.drop();
  }
});
