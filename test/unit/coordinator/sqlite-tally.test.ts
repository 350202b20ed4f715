import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { tallyInstances } from '../../../src/coordinator/store/sqlite/operator-queries.ts';
import { SqliteStore } from '../../../src/coordinator/store/sqlite/sqlite-store.ts';
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
  const whole = await tallyInstances(store.db, undefined, 1_000);
  expect(whole.map((tally) => tally.instances)).toEqual([5, 4]);
  expect(await tallyInstances(store.db, undefined, 2)).toEqual(whole);
  expect(await tallyInstances(store.db, [clusters[1]!], 4)).toEqual([whole[1]]);
  await store.close();
});
