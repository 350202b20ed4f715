/**
 * Reads a coordinator's store directly (read-only), for the campaign's verdict: what the store
 * holds is the truth about lost records and double-Active instances, whatever the API says.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { withPgClient } from '../helpers/postgres.ts';

export interface NodeRow {
  nodeId: string;
  clusterId: number;
  instanceId: number;
  status: string;
  lastHeartbeat: number;
  terminatedAt: number | null;
  terminationReason: string | null;
}

export interface TokenRow {
  id: string;
  revokedAt: number | null;
}

export interface StoreSnapshot {
  nodes: Map<string, NodeRow>;
  tokens: Map<string, TokenRow>;
  /** Instances with more than one Active node. */
  doubleActive: { instanceId: number; active: number }[];
}

const NODES_SQL =
  'SELECT id, cluster_id, instance_id, status, last_heartbeat, terminated_at, termination_reason FROM nodes';
const TOKENS_SQL = 'SELECT id, revoked_at FROM tokens';
const DOUBLE_ACTIVE_SQL = "SELECT instance_id, COUNT(*) AS active FROM nodes WHERE status = 'Active' GROUP BY instance_id HAVING COUNT(*) > 1";

type Raw = Record<string, unknown>;

function toNode(row: Raw): NodeRow {
  return {
    nodeId: String(row.id),
    clusterId: Number(row.cluster_id),
    instanceId: Number(row.instance_id),
    status: String(row.status),
    lastHeartbeat: Number(row.last_heartbeat),
    terminatedAt: row.terminated_at === null || row.terminated_at === undefined ? null : Number(row.terminated_at),
    terminationReason: row.termination_reason === null || row.termination_reason === undefined ? null : String(row.termination_reason),
  };
}

function snapshotOf(nodes: Raw[], tokens: Raw[], doubles: Raw[]): StoreSnapshot {
  return {
    nodes: new Map(nodes.map((row) => toNode(row)).map((row) => [row.nodeId, row])),
    tokens: new Map(
      tokens.map((row) => [String(row.id), { id: String(row.id), revokedAt: row.revoked_at === null || row.revoked_at === undefined ? null : Number(row.revoked_at) }]),
    ),
    doubleActive: doubles.map((row) => ({ instanceId: Number(row.instance_id), active: Number(row.active) })),
  };
}

async function readPostgres(client: pg.Client): Promise<StoreSnapshot> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const nodes = await client.query(NODES_SQL);
    const tokens = await client.query(TOKENS_SQL);
    const doubles = await client.query(DOUBLE_ACTIVE_SQL);
    return snapshotOf(nodes.rows as Raw[], tokens.rows as Raw[], doubles.rows as Raw[]);
  } finally {
    await client.query('COMMIT');
  }
}

function readSqlite(path: string): StoreSnapshot {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    return db.transaction(() => snapshotOf(db.prepare(NODES_SQL).all() as Raw[], db.prepare(TOKENS_SQL).all() as Raw[], db.prepare(DOUBLE_ACTIVE_SQL).all() as Raw[]))();
  } finally {
    db.close();
  }
}

const isPostgres = (store: string) => /^postgres(ql)?:\/\//.test(store);

/** One consistent read of the nodes and tokens of a SQLite file or a PostgreSQL database. */
export async function readStore(store: string): Promise<StoreSnapshot> {
  if (!isPostgres(store)) return readSqlite(store);
  return withPgClient(store, readPostgres);
}

/** Reads a store again and again (a campaign polls it): one kept connection to PostgreSQL, reopened after a failure. */
export class StoreReader {
  private client: pg.Client | undefined;
  /** One read at a time on the kept connection (each is a transaction). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly store: string) {}

  read(): Promise<StoreSnapshot> {
    const next = this.queue.then(() => this.readNow(), () => this.readNow());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async readNow(): Promise<StoreSnapshot> {
    if (!isPostgres(this.store)) return readSqlite(this.store);
    try {
      return await this.readPostgres();
    } catch {
      // The kept connection may have died with the server (an outage campaign): once more, afresh.
      await this.close();
      return this.readPostgres();
    }
  }

  private async readPostgres(): Promise<StoreSnapshot> {
    if (!this.client) {
      const client = new pg.Client({ connectionString: this.store });
      client.on('error', () => undefined);
      await client.connect();
      this.client = client;
    }
    try {
      return await readPostgres(this.client);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
