import type { QueryResult, RawBuilder } from 'kysely';
import type { Db } from './schema.ts';

/**
 * Where the two engines differ inside a query that is otherwise written once. Everything else
 * that differs (the batched heartbeat write, the migration lock, running a migration script,
 * the transaction driver) is a method of the store subclass of each engine.
 */
export interface EngineTraits {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * PostgreSQL locks the rows a write transaction read (FOR UPDATE), so concurrent replicas
   * serialize on them; SQLite has one writer at a time and no such clause.
   */
  readonly locksRows: boolean;
  /**
   * The fleet tally reads this many instance ids per query: better-sqlite3 blocks the event loop
   * while a query runs, so SQLite yields between slices; PostgreSQL reads the fleet in one query.
   */
  readonly tallySliceSize: number;
  /** The text under `key` of a JSON text column, NULL when absent. */
  jsonText(column: string, key: string): RawBuilder<string | null>;
  /** A text column holding a decimal number, as a floating-point value. */
  asReal(column: string): RawBuilder<number>;
  /** The write broke a unique key (a hostname or uuid already taken). */
  isUniqueViolation(error: unknown): boolean;
  /**
   * Called in a transaction right before it appends to the transitions log, so that log ids
   * commit in id order and a reader polling by id never skips a row committed late. SQLite has
   * one writer, so nothing to do; PostgreSQL takes a transaction-scoped advisory lock.
   */
  orderLogCommits(trx: Db): Promise<void>;
  /**
   * Runs a compiled statement straight on the driver, for a transaction that already holds the
   * engine's one connection (SQLite): Kysely's executor would take its mutex and several promise
   * hops per statement, a quarter of a registration's store time. Absent, queries go through Kysely.
   */
  runInTransaction?(sql: string, parameters: readonly unknown[]): QueryResult<unknown>;
}
