import type Database from 'better-sqlite3';
import type { QueryResult, SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Statements remembered per SQL text. Queries with IN lists make a text per list length, so the
 * cache forgets its oldest entry beyond this many.
 */
const CACHED_STATEMENTS = 500;

/**
 * The database as Kysely's SQLite dialect sees it, preparing each SQL text once: Kysely prepares
 * on every query, and preparing cost more than running on the registration path.
 */
export function cachingStatements(raw: Database.Database): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => raw.close(),
    prepare(text: string): SqliteStatement {
      let statement = statements.get(text);
      if (!statement) {
        statement = raw.prepare(text) as unknown as SqliteStatement;
        if (statements.size >= CACHED_STATEMENTS) statements.delete(statements.keys().next().value as string);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

/** Runs a statement of the cache as Kysely's SQLite driver would, without its connection mutex (the caller holds the connection). */
export function runStatement(database: SqliteDatabase, text: string, parameters: readonly unknown[]): QueryResult<unknown> {
  const statement = database.prepare(text);
  if (statement.reader) return { rows: statement.all(parameters) };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
}
