import type { Argv, CommandModule } from 'yargs';

/** `coordinator serve` flags: --config plus one flag per config key, from the config schema. */
export async function serveOptions(serve: Argv): Promise<Argv> {
  const [{ CoordinatorConfigSchema }, { configCommandOptions }] = await Promise.all([import('../coordinator/config.ts'), import('./config-flags.ts')]);
  return configCommandOptions(serve, CoordinatorConfigSchema);
}

/**
 * A busy or forbidden address, or a store that cannot be opened, told with what to change
 * (runtime-failures.ts); the config loaded again here loaded once already, in serveCoordinator.
 */
async function explained(error: unknown, configFile: string | undefined, flags: Record<string, unknown>): Promise<unknown> {
  const [{ CoordinatorConfigSchema, withEnvAliases }, { loadConfig }, { listenFailure, storeOpenFailure }] = await Promise.all([
    import('../coordinator/config.ts'),
    import('../shared/config-loader.ts'),
    import('./runtime-failures.ts'),
  ]);
  let config;
  try {
    config = loadConfig(CoordinatorConfigSchema, { file: configFile, env: withEnvAliases(process.env), flags });
  } catch {
    return error;
  }
  return listenFailure(error, config) ?? storeOpenFailure(error, config.store) ?? error;
}

/** `nodepulse coordinator serve`: one flag per key of config/coordinator.example.yaml. */
export const coordinatorCommand: CommandModule = {
  command: 'coordinator',
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
          const configFile = argv.config as string | undefined;
          const flags = configFlagValues(argv, CoordinatorConfigSchema);
          try {
            await serveCoordinator({ configFile, flags, knownEnv: knownEnv() });
          } catch (error) {
            throw await explained(error, configFile, flags);
          }
        },
      })
      .demandCommand(1, 'Name an action: serve'),
  handler: () => undefined,
};
