import type { Argv, CommandModule } from 'yargs';

/** `nodepulse coordinator serve`: flags mirror the config keys (config/coordinator.example.yaml). */
export const coordinatorCommand: CommandModule = {
  command: 'coordinator <action>',
  describe: 'Run the coordinator',
  builder: (yargs: Argv) =>
    yargs.command({
      command: 'serve',
      describe: 'Serve the coordinator HTTP API (SQLite by default, PostgreSQL with a postgres:// store)',
      builder: (serve: Argv) =>
        serve
          .option('config', { type: 'string', describe: 'YAML config file' })
          .option('host', { type: 'string', describe: 'Address to listen on (default 127.0.0.1)' })
          .option('port', { type: 'string', describe: 'Port to listen on (default 8420; 0 picks a free one)' })
          .option('store', { type: 'string', describe: 'SQLite file path or postgres:// URL (default ./data/nodepulse.db)' })
          .option('heartbeat-interval', { type: 'string', describe: 'Seconds between an agent’s heartbeats (default 10)' })
          .option('heartbeat-timeout', { type: 'string', describe: 'Seconds of silence before a node is timed out (default 3 intervals + 5)' })
          .option('log-level', { type: 'string', describe: 'error, warn, info or debug' }),
      handler: async (argv) => {
        const { serveCoordinator } = await import('../coordinator/main.ts');
        await serveCoordinator({
          configFile: argv.config as string | undefined,
          flags: {
            host: argv.host,
            port: argv.port,
            store: argv.store,
            heartbeatInterval: argv['heartbeat-interval'],
            heartbeatTimeout: argv['heartbeat-timeout'],
            logLevel: argv['log-level'],
          },
        });
      },
    }).demandCommand(1),
  handler: () => undefined,
};
