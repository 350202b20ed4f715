import type { Argv, CommandModule } from 'yargs';
import { systemClock } from '../shared/clock.ts';
import { print, printJson, printTable } from './output.ts';
import { deprecatedSpelling } from './deprecated-spelling.ts';

/** What the store flags give a handler (store-access.ts reads them). */
export interface StoreArgs {
  store?: string | undefined;
  config?: string | undefined;
  create?: boolean | undefined;
}

/** The store flags of the commands that write it directly (the store itself loads in the handler). */
export const storeOptions = (yargs: Argv) =>
  yargs
    .option('store', { type: 'string', describe: 'SQLite file path or postgres:// URL of the coordinator (default ./data/nodepulse.db)' })
    .option('config', { type: 'string', describe: 'Coordinator config file (for its store)' })
    .option('create', { type: 'boolean', default: false, describe: 'Start a new store when there is none there yet (else a mistyped --store is an error)' });

const json = { type: 'boolean', default: false, describe: 'Print JSON for scripts' } as const;

const tokenActions = (yargs: Argv) =>
  yargs
    .command({
      command: 'create',
      describe: 'Create a token and print it once',
      builder: (create: Argv) =>
        storeOptions(create)
          .option('role', { choices: ['admin', 'reader', 'enroll'] as const, demandOption: true })
          .option('cluster', { type: 'string', describe: 'Cluster of an enroll token (default: default)' })
          .option('label', { type: 'string', default: '', describe: 'A note to tell tokens apart' })
          .option('json', json),
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
      builder: (list: Argv) => storeOptions(list).option('json', json),
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
      builder: (revoke: Argv) => storeOptions(revoke).positional('id', { type: 'string', demandOption: true }).option('json', json),
      handler: async (argv) => {
        const { withStore } = await import('./store-access.ts');
        const id = String(argv.id);
        const revoked = await withStore(argv, (store) => store.revokeToken(id, systemClock.now()));
        if (argv.json) printJson({ id, revoked });
        else if (revoked) print(`revoked ${id}\n`);
        if (!revoked) {
          process.stderr.write(`nodepulse: no unrevoked token with id ${id}\n`);
          process.exitCode = 1;
        }
      },
    })
    .demandCommand(1, 'Name an action: create, list or revoke');

/** `nodepulse tokens create|list|revoke`: operator tokens, written straight to the coordinator's store. */
export const tokensCommand: CommandModule = {
  command: 'tokens',
  describe: 'Manage admin, reader and enroll tokens (writes the store directly)',
  builder: tokenActions,
  handler: () => undefined,
};

/** `nodepulse token ...`, the spelling of 0.1: still works, hidden from the help, with a note. */
export const tokenCommand: CommandModule = {
  command: 'token',
  describe: false,
  builder: (yargs: Argv) => {
    deprecatedSpelling('token', 'tokens');
    return tokenActions(yargs);
  },
  handler: () => undefined,
};
