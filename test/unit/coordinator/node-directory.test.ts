import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { NodeDirectory } from '../../../src/coordinator/state/node-directory.ts';
import { SqliteStore } from '../../../src/coordinator/store/sqlite/sqlite-store.ts';
import type { Store } from '../../../src/coordinator/store/store.ts';
import { registered, registration } from '../../contract/stores.ts';

let dir: string;
let store: SqliteStore;
let nodeIds: string[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nodepulse-directory-'));
  store = new SqliteStore(join(dir, 'store.db'));
  await store.migrate();
  const cluster = await store.ensureCluster('default', 1000);
  nodeIds = [];
  for (let i = 0; i < 8; i++) nodeIds.push((await registered(store, registration(cluster.id))).nodeId);
  await store.terminateNode(nodeIds[0]!, 'Shutdown', 2000);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('knows every Active node after its load, without a store read per node, and no Terminated one', async () => {
  const directory = new NodeDirectory(store, undefined, 3);
  directory.start();
  await directory.loaded();
  expect(directory.size).toBe(7);
  for (const nodeId of nodeIds.slice(1)) expect(directory.peek(nodeId)).toMatchObject({ nodeId, active: true });
  expect(directory.peek(nodeIds[0]!)).toBeUndefined();
  await directory.stop();
});

it('does not bring back a node terminated while the load reads its page', async () => {
  const sorted = [...nodeIds.slice(1)].sort();
  let directory: NodeDirectory | undefined;
  // The second page is read, then the node ends before the directory takes the page in.
  const racing: Store = Object.create(store, {
    activeNodes: {
      value: async (afterId: string, limit: number) => {
        const page = await store.activeNodes(afterId, limit);
        if (page.some((node) => node.nodeId === sorted[3])) directory!.markTerminated(sorted[3]!);
        return page;
      },
    },
  });
  directory = new NodeDirectory(racing, undefined, 3);
  directory.start();
  await directory.loaded();
  expect(directory.peek(sorted[3]!)).toBeUndefined();
  expect(directory.size).toBe(6);
  await directory.stop();
});
