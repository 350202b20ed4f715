import { CoordinatorConfigSchema, withEnvAliases } from '../coordinator/config.ts';
import { openStore } from '../coordinator/store/open-store.ts';
import type { Store } from '../coordinator/store/store.ts';
import { loadConfig } from '../shared/config-loader.ts';

/**
 * Opens the coordinator's store for one operator command. Loaded only by the commands that
 * need it, so `agent run` never loads the store drivers (better-sqlite3, pg).
 */
export async function withStore<T>(argv: { store?: unknown; config?: unknown }, work: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig(CoordinatorConfigSchema, { file: argv.config as string | undefined, env: withEnvAliases(process.env), flags: { store: argv.store } });
  const store = await openStore(config.store, { poolSize: 1 });
  try {
    await store.migrate();
    return await work(store);
  } finally {
    await store.close();
  }
}
