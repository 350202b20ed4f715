import type { Argv, CommandModule } from 'yargs';
import type { AgentInvocation } from '../agent/main.ts';

/**
 * Every agent subcommand takes --config plus one flag per config key, from the config schema
 * (config/agent.example.yaml documents each), so `agent facts` and `agent check` see the same
 * settings as `agent run`.
 */
export async function agentOptions(yargs: Argv): Promise<Argv> {
  const [{ AgentConfigSchema }, { configCommandOptions }] = await Promise.all([import('../agent/config.ts'), import('./config-flags.ts')]);
  return configCommandOptions(yargs, AgentConfigSchema);
}

async function invocationOf(argv: Record<string, unknown>): Promise<AgentInvocation> {
  const { AGENT_RENAMED_ENV, warnAboutRenamedEnv } = await import('./renamed-env.ts');
  warnAboutRenamedEnv(process.env, AGENT_RENAMED_ENV);
  const [{ AgentConfigSchema }, { configFlagValues }] = await Promise.all([import('../agent/config.ts'), import('./config-flags.ts')]);
  return { configFile: argv.config as string | undefined, flags: configFlagValues(argv, AgentConfigSchema) };
}

/** `nodepulse agent run|facts|check|status`. */
export const agentCommand: CommandModule = {
  command: 'agent',
  describe: 'Run the node agent, or print its facts, checks or status',
  builder: (yargs: Argv) =>
    yargs
      .command({
        command: 'run',
        describe: 'Register with the coordinator, heartbeat and run health checks (foreground, logs to stdout)',
        builder: agentOptions,
        handler: async (argv) => {
          const [{ runAgent }, { knownEnv }] = await Promise.all([import('../agent/main.ts'), import('./known-env.ts')]);
          await runAgent({ ...(await invocationOf(argv)), knownEnv: knownEnv() });
        },
      })
      .command({
        command: 'facts',
        describe: 'Collect the facts and capacity once, print them as JSON and exit',
        builder: agentOptions,
        handler: async (argv) => {
          const { printFacts } = await import('../agent/main.ts');
          await printFacts(await invocationOf(argv));
        },
      })
      .command({
        command: 'status',
        describe: "Print the running agent's status (from its status endpoint, else its state directory) as JSON; exit 1 if it is not making progress",
        builder: agentOptions,
        handler: async (argv) => {
          const { printStatus } = await import('../agent/main.ts');
          await printStatus(await invocationOf(argv));
        },
      })
      .command({
        command: 'check',
        describe: 'Run the configured health checks once, print the results, exit 2 if any is critical',
        builder: agentOptions,
        handler: async (argv) => {
          const { runChecksOnce } = await import('../agent/main.ts');
          await runChecksOnce(await invocationOf(argv));
        },
      })
      .demandCommand(1, 'Name an action: run, facts, status or check'),
  handler: () => undefined,
};
