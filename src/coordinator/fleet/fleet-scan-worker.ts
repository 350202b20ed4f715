/**
 * A worker thread's one scan of the fleet on SQLite: its own read-only connection on the store's
 * file (WAL lets it read beside the coordinator's writer, in one consistent snapshot), so the
 * coordinator's event loop never runs a query over every instance. Posts a FleetSnapshot with
 * its columns transferred, then ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { type InstanceSummaryRow, instanceSummaryQuery } from '../store/instance-tally.ts';
import type { StoreTables } from '../store/schema.ts';
import { SQLITE_TRAITS } from '../store/sqlite/sqlite-traits.ts';
import { SnapshotBuilder, snapshotBuffers } from './fleet-snapshot.ts';
import { summaryFromRow } from './instance-summary.ts';

const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
try {
  // The store's own summary query, compiled for SQLite and iterated row by row (a million rows never sit in one array).
  const query = instanceSummaryQuery(SQLITE_TRAITS, sql`1 = 1`).compile(new Kysely<StoreTables>({ dialect: new SqliteDialect({ database: db }) }));
  const builder = new SnapshotBuilder();
  for (const row of db.prepare(query.sql).iterate(...query.parameters) as IterableIterator<InstanceSummaryRow>) builder.add(row.id, summaryFromRow(row));
  const snapshot = builder.build(true);
  parentPort!.postMessage(snapshot, snapshotBuffers(snapshot));
} finally {
  db.close();
}
