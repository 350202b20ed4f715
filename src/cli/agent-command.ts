import type { Argv, CommandModule } from 'yargs';
import { unknownArgumentsAreConfigErrors } from './config-flags.ts';

/** Flags shared by every agent subcommand; each mirrors a config key (config/agent.example.yaml). */
function commonOptions(yargs: Argv): Argv {
  return yargs
    .option('config', { type: 'string', describe: 'YAML config file (or NODEPULSE_CONFIG)' })
    .option('log-level', { type: 'string', describe: 'error, warn, info or debug (debug logs every request)' })
    .option('state-dir', { type: 'string', describe: 'Directory for the persistent identity (default /var/lib/nodepulse-agent)' })
    .option('advertise-address', { type: 'string', describe: 'Address to report instead of the detected primary IP' });
}

function runOptions(yargs: Argv): Argv {
  return commonOptions(yargs)
    .option('coordinator', { type: 'string', describe: 'Coordinator URL, e.g. http://coordinator:8420' })
    .option('token', { type: 'string', describe: 'Enrollment token (prefer NODEPULSE_TOKEN or --token-file: flags show in ps)' })
    .option('token-file', { type: 'string', describe: 'File whose first line is the enrollment token' })
    .option('ca-file', { type: 'string', describe: 'CA bundle for an https coordinator' })
    .option('tls-cert', { type: 'string', describe: 'Client certificate (PEM) for a coordinator that requires one (mutual TLS)' })
    .option('tls-key', { type: 'string', describe: 'Private key (PEM) of --tls-cert' })
    .option('cluster', { type: 'string', describe: 'Cluster to join (with an admin token; an enroll token implies its cluster)' })
    .option('name', { type: 'string', describe: 'Node name (default: the hostname)' })
    .option('hostname', { type: 'string', describe: 'Hostname to register as (default: the host\'s; a second agent on one host needs its own)' })
    .option('identity', { type: 'string', describe: 'Override the persistent identity (e.g. a StatefulSet pod name)' })
    .option('heartbeat-interval', { type: 'string', describe: 'Seconds between heartbeats (the coordinator may override it)' });
}

type Args = Record<string, unknown>;

function flagsOf(argv: Args): Record<string, unknown> {
  return {
    coordinator: argv.coordinator,
    token: argv.token,
    tokenFile: argv['token-file'],
    caFile: argv['ca-file'],
    tlsCert: argv['tls-cert'],
    tlsKey: argv['tls-key'],
    cluster: argv.cluster,
    name: argv.name,
    hostname: argv.hostname,
    identity: argv.identity,
    stateDir: argv['state-dir'],
    heartbeatInterval: argv['heartbeat-interval'],
    logLevel: argv['log-level'],
    advertiseAddress: argv['advertise-address'],
  };
}

/** `nodepulse agent run|facts|check`. */
export const agentCommand: CommandModule = {
  command: 'agent <action>',
  describe: 'Run the node agent, or print its facts or checks',
  builder: (yargs: Argv) =>
    yargs
      .command({
        command: 'run',
        describe: 'Register with the coordinator, heartbeat and run health checks (foreground, logs to stdout)',
        builder: (run: Argv) => unknownArgumentsAreConfigErrors(runOptions(run), 2),
        handler: async (argv) => {
          const { runAgent } = await import('../agent/main.ts');
          await runAgent({ configFile: argv.config as string | undefined, flags: flagsOf(argv) });
        },
      })
      .command({
        command: 'facts',
        describe: 'Collect the facts and capacity once, print them as JSON and exit',
        builder: commonOptions,
        handler: async (argv) => {
          const { printFacts } = await import('../agent/main.ts');
          await printFacts({ configFile: argv.config as string | undefined, flags: flagsOf(argv) });
        },
      })
      .command({
        command: 'check',
        describe: 'Run the configured health checks once, print the results, exit 2 if any is critical',
        builder: commonOptions,
        handler: async (argv) => {
          const { runChecksOnce } = await import('../agent/main.ts');
          await runChecksOnce({ configFile: argv.config as string | undefined, flags: flagsOf(argv) });
        },
      })
      .demandCommand(1),
  handler: () => undefined,
};
