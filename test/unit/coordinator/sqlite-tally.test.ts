import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Kysely, SqliteDialect } from 'kysely';
import type { StoreTables } from '../../../src/coordinator/store/schema.ts';
import { tallyInstances } from '../../../src/coordinator/store/sql-operator.ts';
import { SqliteStore } from '../../../src/coordinator/store/sqlite/sqlite-store.ts';
import { SQLITE_TRAITS } from '../../../src/coordinator/store/sqlite/sqlite-traits.ts';
import { registered, registration } from '../../contract/stores.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it('adds up a tally read in slices of the fleet to the tally read at once, per cluster', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodepulse-tally-'));
  dirs.push(dir);
  const store = new SqliteStore(join(dir, 'store.db'));
  await store.migrate();
  const clusters = [(await store.ensureCluster('a', 1)).id, (await store.ensureCluster('b', 1)).id];
  for (let i = 0; i < 9; i++) {
    const clusterId = clusters[i % 2]!;
    const { nodeId } = await registered(store, registration(clusterId, { facts: { capacity: { cpuCapacity: i, memCapacity: 2 * i }, jobsRunning: 1 } }));
    if (i % 3 === 0) await store.terminateNode(nodeId, 'Shutdown', 2_000_000);
  }
  // The same file through a second query handle, to choose the slice size.
  const db = new Kysely<StoreTables>({ dialect: new SqliteDialect({ database: store.db }) });
  const whole = await tallyInstances(db, SQLITE_TRAITS, undefined, 1_000);
  expect(whole.map((tally) => tally.instances)).toEqual([5, 4]);
  expect(await tallyInstances(db, SQLITE_TRAITS, undefined, 2)).toEqual(whole);
  expect(await tallyInstances(db, SQLITE_TRAITS, [clusters[1]!], 4)).toEqual([whole[1]]);
  await store.close();
});
