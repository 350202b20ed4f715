import { describe, expect, it } from 'vitest';
import { CoordinatorConfigSchema, withEnvAliases } from '../../../src/coordinator/config.ts';
import { isPostgresUrl } from '../../../src/coordinator/store/open-store.ts';
import { loadConfig } from '../../../src/shared/config-loader.ts';

const load = (env: Record<string, string>, flags: Record<string, unknown> = {}) =>
  loadConfig(CoordinatorConfigSchema, { env: withEnvAliases(env), flags });

describe('choosing the store', () => {
  it('takes NODEPULSE_STORE_URL as the store', () => {
    expect(load({ NODEPULSE_STORE_URL: 'postgres://u:p@db/np' }).store).toBe('postgres://u:p@db/np');
  });

  it('prefers NODEPULSE_STORE over the alias, and a flag over both', () => {
    const env = { NODEPULSE_STORE_URL: 'postgres://alias/np', NODEPULSE_STORE: 'postgres://main/np' };
    expect(load(env).store).toBe('postgres://main/np');
    expect(load(env, { store: '/var/lib/nodepulse/np.db' }).store).toBe('/var/lib/nodepulse/np.db');
  });

  it('keeps SQLite the default', () => {
    expect(isPostgresUrl(load({}).store)).toBe(false);
  });

  it('recognises both spellings of a PostgreSQL URL and nothing else', () => {
    expect(isPostgresUrl('postgres://db/np')).toBe(true);
    expect(isPostgresUrl('postgresql://db/np')).toBe(true);
    expect(isPostgresUrl('./data/postgres.db')).toBe(false);
  });
});
