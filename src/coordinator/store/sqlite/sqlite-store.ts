import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, type Transaction } from 'kysely';
import type { StoreTables } from '../schema.ts';
import { SqlStore } from '../sql-store.ts';
import type { HeartbeatWrite } from '../store.ts';
import { type HeartbeatUpdate, heartbeatUpdate } from './heartbeat-update.ts';
import { HeartbeatWriteThread } from './heartbeat-write-thread.ts';
import { SQLITE_TRAITS } from './sqlite-traits.ts';
import { cachingStatements, runStatement } from './statement-cache.ts';

/** Heartbeat rows per write transaction of a `:memory:` store (see writeHeartbeats). */
const HEARTBEAT_SLICE = 1000;

/** WAL pages past which a commit of this connection checkpoints: only when the heartbeat writer has not. */
const BACKSTOP_CHECKPOINT_PAGES = 100_000;

/**
 * The embedded default store: one SQLite file in WAL mode, through Kysely's SQLite dialect on
 * better-sqlite3. The driver is synchronous: a query runs inside one turn of the event loop, and
 * Kysely hands the one connection to one query or transaction at a time.
 */
export class SqliteStore extends SqlStore {
  readonly kind = 'sqlite' as const;
  /** The driver's own handle, for the batched heartbeat write and for tests that seed or inspect the file. */
  readonly db: Database.Database;
  private readonly writeThread: HeartbeatWriteThread | undefined;
  private update: HeartbeatUpdate | undefined;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a process crash (kill -9); only an OS crash may lose the last ones.
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
    // The heartbeat writer checkpoints after each batch, off the event loop (heartbeat-write-worker.ts).
    // SQLite's default, a checkpoint by whichever commit finds 1,000 pages in the WAL, would run here
    // on the event loop whenever a write of this thread followed a few of that writer's slices.
    // This connection checkpoints only as a backstop: past 100,000 pages (~400 MB) of WAL, where one
    // second of a million nodes' heartbeats leaves ~35,000 (140 MB) before the writer's checkpoint.
    if (path !== ':memory:') raw.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    const database = cachingStatements(raw);
    super(new Kysely<StoreTables>({ dialect: new SqliteDialect({ database }) }), {
      ...SQLITE_TRAITS,
      runInTransaction: (text, parameters) => runStatement(database, text, parameters),
    });
    this.db = raw;
    this.writeThread = raw.memory ? undefined : new HeartbeatWriteThread(raw.name);
  }

  /**
   * On a file, a worker thread with its own connection writes the batch (heartbeat-write-thread.ts):
   * at a million nodes a second of heartbeats is ~16,700 row and deadline-index updates at random
   * places in a 400 MB file, about 2 s of UPDATEs, WAL writes and checkpoints, which on this
   * thread would hold every request up. A `:memory:` store cannot be opened twice: its batches
   * are written here, one transaction per HEARTBEAT_SLICE rows, yielding to the event loop between.
   */
  async writeHeartbeats(batch: readonly HeartbeatWrite[]): Promise<string[]> {
    if (batch.length === 0) return [];
    if (this.writeThread) return this.writeThread.write(batch);
    const update = (this.update ??= heartbeatUpdate(this.db));
    // On Kysely's one connection, so no query or transaction of the store interleaves with a read or a slice.
    const { writes, unknown: dropped } = await this.kysely.connection().execute(async () =>
      update.inRowOrder(
        batch.map((write) => write.nodeId),
        batch.map((write) => write.at),
      ),
    );
    for (let start = 0; start < writes.length; start += HEARTBEAT_SLICE) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      const slice = writes.slice(start, start + HEARTBEAT_SLICE);
      await this.kysely.connection().execute(async () => dropped.push(...update.writeSlice(slice)));
    }
    return dropped;
  }

  override async close(): Promise<void> {
    await this.writeThread?.close();
    await super.close();
  }

  /** SQLite serializes writers: the migration transaction's first write waits for the other process's. */
  protected async lockMigrations(): Promise<void> {}

  protected async runScript(_trx: Transaction<StoreTables>, script: string): Promise<void> {
    // Kysely prepares one statement at a time; the driver runs a script on the transaction's connection.
    this.db.exec(script);
  }
}
