import type { Argv, CommandModule } from 'yargs';
import { CoordinatorConfigSchema, withEnvAliases } from '../coordinator/config.ts';
import { openStore } from '../coordinator/store/open-store.ts';
import type { Store } from '../coordinator/store/store.ts';
import { createToken, listTokens } from '../coordinator/token-admin.ts';
import { systemClock } from '../shared/clock.ts';
import { loadConfig } from '../shared/config-loader.ts';
import { printTable } from './output.ts';

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

export const storeOptions = (yargs: Argv) =>
  yargs
    .option('store', { type: 'string', describe: 'SQLite file path or postgres:// URL of the coordinator (default ./data/nodepulse.db)' })
    .option('config', { type: 'string', describe: 'Coordinator config file (for its store)' });

/** `nodepulse token create|list|revoke`: operator tokens, written straight to the coordinator's store. */
export const tokenCommand: CommandModule = {
  command: 'token <action>',
  describe: 'Manage admin, reader and enroll tokens',
  builder: (yargs: Argv) =>
    yargs
      .command({
        command: 'create',
        describe: 'Create a token and print it once',
        builder: (create: Argv) =>
          storeOptions(create)
            .option('role', { choices: ['admin', 'reader', 'enroll'] as const, demandOption: true })
            .option('cluster', { type: 'string', describe: 'Cluster of an enroll token (default: default)' })
            .option('label', { type: 'string', default: '', describe: 'A note to tell tokens apart' })
            .option('json', { type: 'boolean', default: false }),
        handler: async (argv) => {
          const created = await withStore(argv, (store) => createToken(store, argv.role, argv.cluster, argv.label, systemClock.now()));
          if (argv.json) process.stdout.write(`${JSON.stringify(created)}\n`);
          else process.stdout.write(`${created.token}\n(${created.role} token ${created.id}${created.cluster ? ` for cluster ${created.cluster}` : ''}; it is shown only now)\n`);
        },
      })
      .command({
        command: 'list',
        describe: 'List tokens (never their values)',
        builder: (list: Argv) => storeOptions(list).option('json', { type: 'boolean', default: false }),
        handler: async (argv) => {
          const tokens = await withStore(argv, listTokens);
          if (argv.json) process.stdout.write(`${JSON.stringify(tokens)}\n`);
          else printTable(tokens.map((token) => ({ ...token, cluster: token.cluster ?? '', revokedAt: token.revokedAt ?? '' })), ['id', 'role', 'cluster', 'label', 'createdAt', 'revokedAt']);
        },
      })
      .command({
        command: 'revoke <id>',
        describe: 'Revoke a token by id (running coordinators stop accepting it within tokenCacheSecs)',
        builder: (revoke: Argv) => storeOptions(revoke).positional('id', { type: 'string', demandOption: true }),
        handler: async (argv) => {
          const revoked = await withStore(argv, (store) => store.revokeToken(String(argv.id), systemClock.now()));
          if (!revoked) {
            process.stderr.write(`no unrevoked token with id ${String(argv.id)}\n`);
            process.exitCode = 1;
          } else process.stdout.write(`revoked ${String(argv.id)}\n`);
        },
      })
      .demandCommand(1),
  handler: () => undefined,
};
