import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken, newNodeToken } from '../../src/coordinator/auth/tokens.ts';
import { SqliteStore } from '../../src/coordinator/store/sqlite/sqlite-store.ts';

export interface SeededNode {
  nodeId: string;
  token: string;
}

/**
 * Writes `count` registered, Active nodes (each with its own node token and instance) straight
 * into a coordinator's SQLite store in one transaction, as a registration leaves them: a
 * million-node fleet in seconds instead of minutes of registrations. The coordinator started on
 * this file learns each node on its first heartbeat (the directory's store lookup).
 */
export async function seedFleet(storePath: string, count: number, lastHeartbeat = Date.now()): Promise<SeededNode[]> {
  const store = new SqliteStore(storePath);
  try {
    await store.migrate();
    const cluster = await store.ensureCluster('default', lastHeartbeat);
    const instance = store.db.prepare('INSERT INTO instances (cluster_id, hostname, created_at, modified_at) VALUES (?, ?, ?, ?)');
    const node = store.db.prepare(
      "INSERT INTO nodes (id, cluster_id, instance_id, token_hash, status, joined_at, last_heartbeat) VALUES (?, ?, ?, ?, 'Active', ?, ?)",
    );
    const nodes: SeededNode[] = [];
    store.db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const { nodeId, token } = newNodeToken();
        const instanceId = instance.run(cluster.id, `bench-${i}`, lastHeartbeat, lastHeartbeat).lastInsertRowid;
        node.run(nodeId, cluster.id, instanceId, hashToken(token), lastHeartbeat, lastHeartbeat);
        nodes.push({ nodeId, token });
      }
    })();
    return nodes;
  } finally {
    await store.close();
  }
}

export interface SeededTemplate {
  nodes: SeededNode[];
  /** The nodes' last heartbeat (and join time), ms since the epoch. */
  seededAt: number;
}

const templates = new Map<number, { path: string; template: SeededTemplate }>();

/**
 * A fresh copy of a seeded store at `storePath`: the first call per size seeds a template file
 * (about 40 s for 100k on a busy 2-core machine), later calls in the same run copy it.
 */
export async function seededStore(storePath: string, count: number): Promise<SeededTemplate> {
  let cached = templates.get(count);
  if (!cached) {
    // Not a makeTempDir(): those are removed after each benchmark, and the template serves the whole run.
    const dir = mkdtempSync(join(tmpdir(), 'nodepulse-bench-seed-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'template.db');
    const seededAt = Date.now();
    const nodes = await seedFleet(path, count, seededAt);
    cached = { path, template: { nodes, seededAt } };
    templates.set(count, cached);
  }
  copyFileSync(cached.path, storePath);
  return cached.template;
}
