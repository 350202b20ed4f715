import { EXIT_UNAVAILABLE, FixableError } from '../../shared/errors.ts';
import type { LeaderLock } from '../leadership/leader-lock.ts';
import { PgAdvisoryLock } from './postgres/pg-advisory-lock.ts';
import { PgStore } from './postgres/pg-store.ts';
import type { Store } from './store.ts';

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
  return openSqliteStore(location);
}

/**
 * better-sqlite3 is a native module and an optional dependency (it compiles from source where no
 * prebuilt binary fits, which needs build tools), so it is loaded only when a SQLite store is
 * opened, and its absence is told as one line naming the fixes.
 */
async function openSqliteStore(path: string): Promise<Store> {
  try {
    const { SqliteStore } = await import('./sqlite/sqlite-store.ts');
    return new SqliteStore(path);
  } catch (error) {
    if (!isMissingSqliteDriver(error)) throw error;
    throw new FixableError(
      `the SQLite store ${path} needs the better-sqlite3 driver, which is not installed or not built for this Node.js (${firstLine(error)}); ` +
        'install build tools (python3, make, a C++ compiler) and run `npm install better-sqlite3` where nodepulse is installed, or use a PostgreSQL store (--store postgres://...)',
      EXIT_UNAVAILABLE,
    );
  }
}

/** The package is absent, its native part was never built, or it was built for another Node.js. */
function isMissingSqliteDriver(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'ERR_MODULE_NOT_FOUND' && message?.includes("'better-sqlite3'")) return true;
  return code === 'ERR_DLOPEN_FAILED' || /Could not locate the bindings file|NODE_MODULE_VERSION/.test(message ?? '');
}

function firstLine(error: unknown): string {
  return String((error as Error).message).split('\n')[0] ?? '';
}

/**
 * The lock that elects the one sweeping replica, or undefined when the store cannot be shared
 * (SQLite: one process owns the file, so it is always the leader).
 */
export function openLeaderLock(store: Store, onError?: (error: Error) => void): LeaderLock | undefined {
  if (store instanceof PgStore) return new PgAdvisoryLock(store.connectionString, undefined, onError);
  return undefined;
}
