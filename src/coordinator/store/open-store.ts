import type { LeaderLock } from '../leadership/leader-lock.ts';
import { PgAdvisoryLock } from './postgres/pg-advisory-lock.ts';
import { PgStore } from './postgres/pg-store.ts';
import type { Store } from './store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';

export interface OpenStoreOptions {
  poolSize: number;
  /** Told about errors of idle pooled connections (the database went away); they never crash the process. */
  onConnectionError?: (error: Error) => void;
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

/** The only importer of the store implementations: a postgres:// URL or a SQLite file path. */
export async function openStore(location: string, options: OpenStoreOptions): Promise<Store> {
  if (isPostgresUrl(location)) return new PgStore(location, { poolSize: options.poolSize, onIdleError: options.onConnectionError });
  return new SqliteStore(location);
}

/**
 * The lock that elects the one sweeping replica, or undefined when the store cannot be shared
 * (SQLite: one process owns the file, so it is always the leader).
 */
export function openLeaderLock(store: Store, onError?: (error: Error) => void): LeaderLock | undefined {
  if (store instanceof PgStore) return new PgAdvisoryLock(store.connectionString, undefined, onError);
  return undefined;
}
