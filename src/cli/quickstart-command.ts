import type { Argv, CommandModule } from 'yargs';

/** `nodepulse quickstart`: coordinator on ./data + a local agent, for trying nodepulse out. */
export const quickstartCommand: CommandModule = {
  command: 'quickstart',
  describe: 'Run a coordinator on the embedded SQLite store with a local agent registered to it',
  builder: (yargs: Argv) =>
    yargs
      .option('data-dir', { type: 'string', default: './data', describe: 'Where the store, the agent identity and the quick-start tokens live' })
      .option('port', { type: 'number', default: 8420, describe: 'Coordinator port' }),
  handler: async (argv) => {
    const { runQuickstart } = await import('../quickstart/main.ts');
    await runQuickstart({ dataDir: String(argv['data-dir']), port: Number(argv.port) });
  },
};
