/**
 * Every store implementation the contract suites run against, each freshly created and empty:
 * SQLite in a temporary file, PostgreSQL in a database of its own on the test server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/coordinator/store/open-store.ts';
import type { InstanceFields, RegisterNodeInput, Store } from '../../src/coordinator/store/store.ts';
import { createTestDatabase } from '../helpers/postgres.ts';

export interface StoreImpl {
  name: 'sqlite' | 'postgres';
  /** A migrated, empty store and its disposal. */
  open(label: string): Promise<{ store: Store; dispose: () => Promise<void> }>;
}

export const STORES: readonly StoreImpl[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'nodepulse-contract-'));
      const store = await openStore(join(dir, 'store.db'), { poolSize: 1 });
      await store.migrate();
      return {
        store,
        dispose: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async open(label) {
      const database = await createTestDatabase(label);
      const store = await openStore(database.url, { poolSize: 5 });
      await store.migrate();
      return {
        store,
        dispose: async () => {
          await store.close();
          await database.drop();
        },
      };
    },
  },
];

let sequence = 0;

/** A registration with sensible defaults; every call makes a new node id and token hash. */
export function registration(clusterId: number, overrides: Partial<RegisterNodeInput> = {}): RegisterNodeInput {
  sequence += 1;
  const now = overrides.now ?? 1_000_000;
  return {
    clusterId,
    hostname: `host-${sequence}`,
    nodeId: `node-${sequence}-${Math.random().toString(36).slice(2, 8)}`,
    tokenHash: `hash-${sequence}-${Math.random().toString(36).slice(2, 8)}`,
    now,
    duplicateSince: now - 15_000,
    ...overrides,
  };
}

/** Registers and returns the node id, failing the test on any other outcome. */
export async function registered(store: Store, input: RegisterNodeInput): Promise<{ nodeId: string; instanceId: number }> {
  const result = await store.registerNode(input);
  if (result.outcome !== 'registered') throw new Error(`expected a registration, got ${result.outcome}`);
  return { nodeId: result.node.nodeId, instanceId: result.instanceId };
}

/** The fields of an instance an admin creates without saying more (seed 003's defaults); the hostname is the caller's. */
export const DEFAULT_INSTANCE_FIELDS: Omit<InstanceFields, 'hostname'> = {
  capacityAdjustment: '1.00',
  enabled: true,
  managedByPolicy: true,
  nodeType: 'execution',
  nodeState: 'installed',
  listenerPort: null,
  peers: [],
  peersFromControlNodes: false,
};
