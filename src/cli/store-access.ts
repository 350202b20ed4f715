import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CoordinatorConfigSchema, withEnvAliases } from '../coordinator/config.ts';
import { isPostgresUrl, openStore } from '../coordinator/store/open-store.ts';
import type { Store } from '../coordinator/store/store.ts';
import { loadConfig } from '../shared/config-loader.ts';
import { EXIT_NOINPUT, FixableError } from '../shared/errors.ts';
import { storeOpenFailure } from './runtime-failures.ts';

/** A store as an operator may be shown it: the absolute SQLite path, or the URL without its password. */
export function storeDescription(location: string): string {
  if (!isPostgresUrl(location)) return resolve(location);
  try {
    const url = new URL(location);
    url.password = '';
    url.searchParams.delete('password');
    return url.toString();
  } catch {
    return 'postgres://… (an unparseable URL)';
  }
}

/** Whether a nodepulse store is there already: the SQLite file exists, or the database has the migrations table. */
async function storeExists(location: string): Promise<boolean> {
  if (!isPostgresUrl(location)) return existsSync(resolve(location));
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: location });
  await client.connect();
  try {
    const { rows } = await client.query<{ present: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
    return rows[0]?.present === true;
  } finally {
    await client.end();
  }
}

/**
 * Opens the coordinator's store for one operator command. Loaded only by the commands that
 * need it, so `agent run` never loads the store drivers (better-sqlite3, pg). A store that is not
 * there yet is created only with `create` (--create): a mistyped --store would otherwise start
 * a new, empty store and the token made there would work nowhere. The store is named on stderr
 * first, so that a failure to reach it says which (stdout stays the command's output).
 */
export async function withStore<T>(argv: { store?: unknown; config?: unknown; create?: unknown }, work: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig(CoordinatorConfigSchema, { file: argv.config as string | undefined, env: withEnvAliases(process.env), flags: { store: argv.store } });
  const shown = storeDescription(config.store);
  process.stderr.write(`nodepulse: store ${shown}\n`);
  if (argv.create !== true && !(await storeExists(config.store))) {
    throw new FixableError(
      `no nodepulse store at ${shown}: check --store (or store: in --config, NODEPULSE_STORE); to start a new store there, add --create`,
      EXIT_NOINPUT,
    );
  }
  let store: Store;
  try {
    store = await openStore(config.store, { poolSize: 1 });
    await store.migrate().catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
  } catch (error) {
    throw storeOpenFailure(error, config.store) ?? error;
  }
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
