import type { Store } from './store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';

/** The only importer of the store implementations: a postgres:// URL or a SQLite file path. */
export async function openStore(location: string, _options: { poolSize: number }): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(location)) {
    throw new Error('PostgreSQL store is not available in this build');
  }
  return new SqliteStore(location);
}
