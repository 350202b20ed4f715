import { Kysely, PostgresDialect, type Transaction, sql } from 'kysely';
import type pg from 'pg';
import type { EngineTraits } from '../engine.ts';
import type { StoreTables } from '../schema.ts';
import { LOST_LOCK_ORDER, SqlStore } from '../sql-store.ts';
import type { HeartbeatWrite } from '../store.ts';
import { createPool } from './pg-pool.ts';

/** Every replica migrating at once takes this transaction-scoped advisory lock first. */
const MIGRATION_LOCK = 0x6e70_6d69; // "npmi"
/** Held from a transaction's append to the transitions log until its commit (EngineTraits.orderLogCommits). */
const LOG_LOCK = 0x6e70_6c67; // "nplg"

export interface PgStoreOptions {
  poolSize: number;
  onIdleError?: (error: Error) => void;
}

export const POSTGRES_TRAITS: EngineTraits = {
  kind: 'postgres',
  locksRows: true,
  tallySliceSize: Number.POSITIVE_INFINITY,
  jsonText: (column, key) => sql<string | null>`(${sql.ref(column)}::jsonb ->> ${key})`,
  asReal: (column) => sql<number>`${sql.ref(column)}::float8`,
  isUniqueViolation: (error) => (error as { code?: string }).code === '23505',
  orderLogCommits: async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${LOG_LOCK})`.execute(trx);
  },
};

/** The store for several coordinator replicas: PostgreSQL through a `pg` pool, by Kysely's PostgreSQL dialect. */
export class PgStore extends SqlStore {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;

  constructor(
    readonly connectionString: string,
    options: PgStoreOptions,
  ) {
    const pool = createPool({ connectionString, poolSize: options.poolSize, onIdleError: options.onIdleError });
    super(new Kysely<StoreTables>({ dialect: new PostgresDialect({ pool }) }), POSTGRES_TRAITS);
    this.pool = pool;
  }

  /**
   * One statement per batch. The rows are locked in id order first, so two replicas flushing
   * overlapping batches wait for each other instead of deadlocking; GREATEST keeps the newest
   * timestamp any replica wrote, and a Terminated node is never touched.
   */
  async writeHeartbeats(batch: readonly HeartbeatWrite[]): Promise<string[]> {
    if (batch.length === 0) return [];
    const ids = batch.map((write) => write.nodeId);
    const { rows } = await this.retrying(
      () =>
        sql<{ id: string }>`
          WITH batch AS (SELECT * FROM unnest(${ids}::text[], ${batch.map((write) => write.at)}::bigint[]) AS b(id, at)),
               locked AS (SELECT n.id FROM nodes n JOIN batch ON batch.id = n.id WHERE n.status = 'Active' ORDER BY n.id FOR UPDATE OF n)
          UPDATE nodes SET last_heartbeat = GREATEST(nodes.last_heartbeat, batch.at)
          FROM batch JOIN locked ON locked.id = batch.id
          WHERE nodes.id = batch.id AND nodes.status = 'Active'
          RETURNING nodes.id`.execute(this.kysely),
      LOST_LOCK_ORDER,
    );
    const written = new Set(rows.map((row) => row.id));
    return ids.filter((id) => !written.has(id));
  }

  protected async lockMigrations(trx: Transaction<StoreTables>): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(trx);
  }

  protected async runScript(trx: Transaction<StoreTables>, script: string): Promise<void> {
    // Without parameters the server runs every statement of the script.
    await sql.raw(script).execute(trx);
  }
}
