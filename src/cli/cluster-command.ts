import type { Argv, CommandModule } from 'yargs';
import { systemClock } from '../shared/clock.ts';
import { deprecatedSpelling } from './deprecated-spelling.ts';
import { print, printJson } from './output.ts';
import { type StoreArgs, storeOptions } from './token-command.ts';

/** A cluster or region name: 1-128 printable characters, as the API takes it (the schema's packages load only when the command runs, not for --help). */
async function nameCheck(): Promise<(text: string) => boolean> {
  const [{ Value }, { NameText }] = await Promise.all([import('@sinclair/typebox/value'), import('../shared/protocol.ts')]);
  const name = NameText(128);
  return (text) => Value.Check(name, text);
}

/** The regions to set: none given keeps them; a `--region` without a value is an error rather than "clear them". */
function regionsToSet(values: readonly unknown[] | undefined, isName: (text: string) => boolean): string[] | undefined {
  if (values === undefined) return undefined;
  const regions = values.map(String);
  if (regions.length === 0 || !regions.every((region) => isName(region))) {
    throw new Error('--region needs a value of 1-128 printable characters (repeat it for several regions)');
  }
  return regions;
}

/** `nodepulse clusters create NAME --provider P --region R...`: written straight to the coordinator's store. */
export const clusterCreateCommand: CommandModule = {
  command: 'create <name>',
  describe: 'Create a cluster, or set the provider and regions of an existing one (writes the store directly)',
  builder: (create: Argv) =>
    storeOptions(create)
      .positional('name', { type: 'string', demandOption: true })
      .option('provider', { type: 'string', describe: 'Cloud provider, e.g. aws or kubernetes' })
      .option('region', { type: 'string', array: true, describe: 'A region the cluster runs in (repeatable); replaces the configured regions' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the cluster as the clusters API shows it (without the controller_* fields)' }),
  handler: async (argv) => {
    const name = String(argv.name);
    const isName = await nameCheck();
    if (!isName(name)) throw new Error('cluster name must be 1-128 printable characters');
    const regions = regionsToSet(argv.region as unknown[] | undefined, isName);
    const { withStore } = await import('./store-access.ts');
    const { toClusterSummary } = await import('../coordinator/clusters/cluster-view.ts');
    const cluster = await withStore(argv as StoreArgs, async (store) => {
      const created = await store.ensureCluster(name, systemClock.now());
      const updated = (await store.updateCluster(created.id, { provider: argv.provider as string | undefined, regions })) ?? created;
      const [tally] = await store.tallyInstances([updated.id]);
      return toClusterSummary(updated, tally, (await store.regionLabels([updated.id])).get(updated.id) ?? []);
    });
    if (argv.json) printJson(cluster);
    else print(`cluster ${cluster.name} (id ${cluster.id}): provider ${cluster.provider || '-'}, regions ${cluster.regions.join(', ') || '-'}\n`);
  },
};

/** `nodepulse cluster create`, the spelling of 0.1: still works, hidden from the help, with a note. */
export const clusterCommand: CommandModule = {
  command: 'cluster',
  describe: false,
  builder: (yargs: Argv) => {
    deprecatedSpelling('cluster', 'clusters');
    return yargs.command(clusterCreateCommand).demandCommand(1, 'Name an action: create');
  },
  handler: () => undefined,
};
