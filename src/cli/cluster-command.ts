import type { Argv, CommandModule } from 'yargs';
import { systemClock } from '../shared/clock.ts';
import { storeOptions, withStore } from './token-command.ts';

/** `nodepulse cluster create NAME --provider P --region R...`: written straight to the coordinator's store. */
export const clusterCommand: CommandModule = {
  command: 'cluster <action>',
  describe: 'Create or describe a cluster (writes the store directly)',
  builder: (yargs: Argv) =>
    yargs
      .command({
        command: 'create <name>',
        describe: 'Create a cluster, or set the provider and regions of an existing one',
        builder: (create: Argv) =>
          storeOptions(create)
            .positional('name', { type: 'string', demandOption: true })
            .option('provider', { type: 'string', describe: 'Cloud provider, e.g. aws or kubernetes' })
            .option('region', { type: 'string', array: true, describe: 'A region the cluster runs in (repeatable)' })
            .option('json', { type: 'boolean', default: false }),
        handler: async (argv) => {
          const name = String(argv.name);
          if (!/^[^\u0000-\u001f\u007f]{1,128}$/.test(name)) throw new Error('cluster name must be 1-128 printable characters');
          const cluster = await withStore(argv, async (store) => {
            const created = await store.ensureCluster(name, systemClock.now());
            const regions = argv.region?.map(String);
            return (await store.updateCluster(created.id, { provider: argv.provider, regions })) ?? created;
          });
          if (argv.json) process.stdout.write(`${JSON.stringify(cluster)}\n`);
          else process.stdout.write(`cluster ${cluster.name} (id ${cluster.id}): provider ${cluster.provider || '-'}, regions ${cluster.regions.join(', ') || '-'}\n`);
        },
      })
      .demandCommand(1),
  handler: () => undefined,
};
