import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { AgentConfigSchema } from '../../../src/agent/config.ts';
import { agentOptions } from '../../../src/cli/agent-command.ts';
import { configFlagValues } from '../../../src/cli/config-flags.ts';
import { knownEnv } from '../../../src/cli/known-env.ts';
import { flagName, loadConfig, warnAboutUnknownEnv } from '../../../src/shared/config-loader.ts';

const ACTIONS = ['run', 'facts', 'check', 'status'];

/** Parses an `agent <action>` command line with the agent's real flags, as the CLI does. */
async function parseAgent(action: string, args: string[]): Promise<Record<string, unknown>> {
  const cli = yargs(['agent', action, ...args]).strict().fail((_message, error) => {
    throw error;
  });
  return (await agentOptions(cli)).parseAsync();
}

/** A value for each key without a default, so that every key is given on the command line. */
const OPTIONAL_VALUES: Record<string, unknown> = {
  coordinator: 'https://coordinator:8420',
  token: 'npe_token',
  tokenFile: '/etc/nodepulse/agent.token',
  caFile: '/etc/nodepulse/ca.pem',
  tlsCert: '/etc/nodepulse/agent.crt',
  tlsKey: '/etc/nodepulse/agent.key',
  cluster: 'edge',
  name: 'web-1',
  hostname: 'web-1-canary',
  identity: 'web-0',
  advertiseAddress: '10.0.0.5',
  statusListen: '127.0.0.1:8421',
  startupDelay: 2.5,
  cpuOverride: 2,
  memoryOverrideMib: 8192,
};

/** Non-default lists and maps: they are JSON on the command line as in the environment. */
const STRUCTURED_VALUES: Record<string, unknown> = {
  labels: { zone: 'eu-1a', role: 'web' },
  diskMounts: ['/', '/var'],
  checks: [{ name: 'backup', type: 'command', command: ['/bin/true'], cron: '0 */5 * * * *' }],
};

const asFlagText = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value));

describe('agent flags', () => {
  it.each(ACTIONS)('offer every config key as its --kebab-case flag, for agent %s', async (action) => {
    const values = { ...loadConfig(AgentConfigSchema, {}), ...OPTIONAL_VALUES, ...STRUCTURED_VALUES };
    expect(Object.keys(values).sort()).toEqual(Object.keys(AgentConfigSchema.properties).sort());
    const args = Object.entries(values).flatMap(([key, value]) => [`--${flagName(key)}`, asFlagText(value)]);
    const flags = configFlagValues(await parseAgent(action, args), AgentConfigSchema);
    for (const key of Object.keys(AgentConfigSchema.properties)) expect(flags[key], key).not.toBeUndefined();
    expect(loadConfig(AgentConfigSchema, { flags })).toEqual(values);
  });

  it('leave a key to the file and the environment when its flag is not given, and keep --config', async () => {
    const argv = await parseAgent('run', ['--config', '/etc/nodepulse/agent.yaml', '--heartbeat-interval', '7.5']);
    expect(argv.config).toBe('/etc/nodepulse/agent.yaml');
    const given = Object.entries(configFlagValues(argv, AgentConfigSchema)).filter(([, value]) => value !== undefined);
    expect(given).toEqual([['heartbeatInterval', 7.5]]);
  });

  it.each(ACTIONS)('make an unknown flag or a stray argument a configuration error (exit 78), for agent %s', async (action) => {
    await expect(parseAgent(action, ['--heartbeat-intervl', '5', 'extra'])).rejects.toMatchObject({
      problems: ['--heartbeat-intervl: unknown option', 'extra: unexpected argument'],
    });
  });
});

describe('unknown NODEPULSE_* variables', () => {
  it('are named in one warning (names only), while the agent’s, the coordinator’s and the CLI’s pass', () => {
    const warnings: Array<{ message: string; meta: object }> = [];
    const logger = { warn: (message: string, meta: object) => warnings.push({ message, meta }) };
    const env = {
      NODEPULSE_HEARTBEAT_INTERVL: '5',
      NODEPULSE_CHEKS: '[]',
      NODEPULSE_TOKEN: 'secret-value',
      NODEPULSE_FACTS_REFRESH_INTERVAL: '60',
      NODEPULSE_SWEEP_SCHEDULE: '* * * * * *',
      NODEPULSE_BOOT_ID: 'b',
      PATH: '/usr/bin',
    };
    warnAboutUnknownEnv(logger, env, knownEnv());
    expect(warnings).toEqual([
      { message: expect.stringContaining('unknown NODEPULSE_* environment variables'), meta: { variables: ['NODEPULSE_CHEKS', 'NODEPULSE_HEARTBEAT_INTERVL'] } },
    ]);
    warnAboutUnknownEnv(logger, { NODEPULSE_TOKEN: 'x' }, knownEnv());
    expect(warnings).toHaveLength(1);
  });
});
