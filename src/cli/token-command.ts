import type { Argv, CommandModule } from 'yargs';
import { systemClock } from '../shared/clock.ts';
import { print, printJson, printTable } from './output.ts';

/** The store flags of the commands that write it directly (the store itself loads in the handler). */
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
          const [{ withStore }, { createToken }] = await Promise.all([import('./store-access.ts'), import('../coordinator/token-admin.ts')]);
          const created = await withStore(argv, (store) => createToken(store, argv.role, argv.cluster, argv.label, systemClock.now()));
          if (argv.json) printJson(created);
          else print(`${created.token}\n(${created.role} token ${created.id}${created.cluster ? ` for cluster ${created.cluster}` : ''}; it is shown only now)\n`);
        },
      })
      .command({
        command: 'list',
        describe: 'List tokens (never their values)',
        builder: (list: Argv) => storeOptions(list).option('json', { type: 'boolean', default: false }),
        handler: async (argv) => {
          const [{ withStore }, { listTokens }] = await Promise.all([import('./store-access.ts'), import('../coordinator/token-admin.ts')]);
          const tokens = await withStore(argv, listTokens);
          if (argv.json) printJson(tokens);
          else printTable(tokens.map((token) => ({ ...token, cluster: token.cluster ?? '', revokedAt: token.revokedAt ?? '' })), ['id', 'role', 'cluster', 'label', 'createdAt', 'revokedAt']);
        },
      })
      .command({
        command: 'revoke <id>',
        describe: 'Revoke a token by id (running coordinators stop accepting it within tokenCacheSecs)',
        builder: (revoke: Argv) => storeOptions(revoke).positional('id', { type: 'string', demandOption: true }),
        handler: async (argv) => {
          const { withStore } = await import('./store-access.ts');
          const revoked = await withStore(argv, (store) => store.revokeToken(String(argv.id), systemClock.now()));
          if (!revoked) {
            process.stderr.write(`no unrevoked token with id ${String(argv.id)}\n`);
            process.exitCode = 1;
          } else print(`revoked ${String(argv.id)}\n`);
        },
      })
      .demandCommand(1),
  handler: () => undefined,
};
