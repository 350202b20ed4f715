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
 * million-node fleet in seconds instead of minutes of registrations. A coordinator started on
 * this file loads them into its node directory, as after a restart. The nodes come back in a
 * shuffled order (below), the order benchmarks heartbeat them in.
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
    return shuffled(nodes);
  } finally {
    await store.close();
  }
}

/**
 * The nodes in a random order, the same every run. Real agents heartbeat at phases drawn from
 * their identity, so one second's heartbeats fall on rows all over the file; rotating through the
 * nodes in the order they were inserted would write neighbouring rows, one page per dozens of
 * heartbeats, and flatter the store's write cost.
 */
function shuffled<T>(items: T[]): T[] {
  let seed = 0x9e3779b9;
  const random = () => {
    // mulberry32: a small seeded generator, so every run drives the same order.
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
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
