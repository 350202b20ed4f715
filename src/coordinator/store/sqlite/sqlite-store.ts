import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, type Transaction, sql } from 'kysely';
import type { EngineTraits } from '../engine.ts';
import type { StoreTables } from '../schema.ts';
import { SqlStore } from '../sql-store.ts';
import type { HeartbeatWrite } from '../store.ts';
import { cachingStatements } from './statement-cache.ts';

/** Heartbeat rows per write transaction (see writeHeartbeats). */
const HEARTBEAT_SLICE = 1000;

export const SQLITE_TRAITS: EngineTraits = {
  kind: 'sqlite',
  locksRows: false,
  tallySliceSize: 10_000,
  jsonText: (column, key) => sql<string | null>`json_extract(${sql.ref(column)}, ${`$.${key}`})`,
  asReal: (column) => sql<number>`CAST(${sql.ref(column)} AS REAL)`,
  isUniqueViolation: (error) => (error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true,
  orderLogCommits: async () => {},
};

/**
 * The embedded default store: one SQLite file in WAL mode, through Kysely's SQLite dialect on
 * better-sqlite3. The driver is synchronous: a query runs inside one turn of the event loop, and
 * Kysely hands the one connection to one query or transaction at a time.
 */
export class SqliteStore extends SqlStore {
  readonly kind = 'sqlite' as const;
  /** The driver's own handle, for the batched heartbeat write and for tests that seed or inspect the file. */
  readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a process crash (kill -9); only an OS crash may lose the last ones.
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
    super(new Kysely<StoreTables>({ dialect: new SqliteDialect({ database: cachingStatements(raw) }) }), SQLITE_TRAITS);
    this.db = raw;
  }

  /**
   * One transaction per slice of HEARTBEAT_SLICE rows, yielding to the event loop between slices:
   * a second of heartbeats of a 100k fleet is ~10,000 row and index updates (tens of ms), which
   * would otherwise hold every request up at once. Each row's update is conditional on Active,
   * so whatever runs between two slices leaves the same outcome. A prepared statement in a loop
   * costs a third of a query built per row, on the coordinator's hottest write.
   */
  async writeHeartbeats(batch: readonly HeartbeatWrite[]): Promise<string[]> {
    const update = this.db.prepare("UPDATE nodes SET last_heartbeat = MAX(last_heartbeat, ?) WHERE id = ? AND status = 'Active'");
    const writeSlice = this.db.transaction((slice: readonly HeartbeatWrite[], dropped: string[]) => {
      for (const { nodeId, at } of slice) if (update.run(at, nodeId).changes === 0) dropped.push(nodeId);
    });
    const dropped: string[] = [];
    for (let start = 0; start < batch.length; start += HEARTBEAT_SLICE) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      // On Kysely's one connection, so no query or transaction of the store interleaves with the slice.
      await this.kysely.connection().execute(async () => writeSlice(batch.slice(start, start + HEARTBEAT_SLICE), dropped));
    }
    return dropped;
  }

  /** SQLite serializes writers: the migration transaction's first write waits for the other process's. */
  protected async lockMigrations(): Promise<void> {}

  protected async runScript(_trx: Transaction<StoreTables>, script: string): Promise<void> {
    // Kysely prepares one statement at a time; the driver runs a script on the transaction's connection.
    this.db.exec(script);
  }
}
