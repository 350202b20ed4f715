import type { Argv, CommandModule } from 'yargs';

/** `coordinator serve` flags: --config plus one flag per config key, from the config schema. */
export async function serveOptions(serve: Argv): Promise<Argv> {
  const [{ CoordinatorConfigSchema }, { configCommandOptions }] = await Promise.all([import('../coordinator/config.ts'), import('./config-flags.ts')]);
  return configCommandOptions(serve, CoordinatorConfigSchema);
}

/** `nodepulse coordinator serve`: one flag per key of config/coordinator.example.yaml. */
export const coordinatorCommand: CommandModule = {
  command: 'coordinator <action>',
  describe: 'Run the coordinator',
  builder: (yargs: Argv) =>
    yargs
      .command({
        command: 'serve',
        describe: 'Serve the coordinator HTTP API (SQLite by default, PostgreSQL with a postgres:// store)',
        builder: serveOptions,
        handler: async (argv) => {
          const [{ serveCoordinator }, { CoordinatorConfigSchema }, { knownEnv }, { configFlagValues }] = await Promise.all([
            import('../coordinator/main.ts'),
            import('../coordinator/config.ts'),
            import('./known-env.ts'),
            import('./config-flags.ts'),
          ]);
          await serveCoordinator({
            configFile: argv.config as string | undefined,
            flags: configFlagValues(argv, CoordinatorConfigSchema),
            knownEnv: knownEnv(),
          });
        },
      })
      .demandCommand(1),
  handler: () => undefined,
};
