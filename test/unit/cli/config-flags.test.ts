import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { configFlagValues } from '../../../src/cli/config-flags.ts';
import { serveOptions } from '../../../src/cli/coordinator-command.ts';
import { CoordinatorConfigSchema } from '../../../src/coordinator/config.ts';
import { flagName, loadConfig } from '../../../src/shared/config-loader.ts';
import { ConfigError } from '../../../src/shared/errors.ts';

/** Parses a `coordinator serve` command line with its real flags, as the CLI does. */
async function parseServe(args: string[]): Promise<Record<string, unknown>> {
  const cli = yargs(['coordinator', 'serve', ...args]).strict().fail((_message, error) => {
    throw error;
  });
  return (await serveOptions(cli)).parseAsync();
}

const defaults = loadConfig(CoordinatorConfigSchema, {});

describe('coordinator serve flags', () => {
  it('offers every config key as its --kebab-case flag, but for the file-only ones (the webhook sinks, which may hold secrets)', async () => {
    const properties = Object.entries(CoordinatorConfigSchema.properties as Record<string, { fileOnly?: boolean }>);
    const flagKeys = properties.filter(([, property]) => property.fileOnly !== true).map(([key]) => key);
    expect(properties.filter(([, property]) => property.fileOnly === true).map(([key]) => key)).toEqual(['webhooks']);
    // Keys without a default (the TLS files) take a path.
    const paths = Object.fromEntries(flagKeys.map((key) => [key, `/etc/nodepulse/${key}.pem`]));
    const values = { ...paths, ...defaults };
    // A map (clusters) is JSON on the command line.
    const args = Object.entries(values).flatMap(([key, value]) => [`--${flagName(key)}`, typeof value === 'object' ? JSON.stringify(value) : String(value)]);
    const flags = configFlagValues(await parseServe(args), CoordinatorConfigSchema);
    for (const key of flagKeys) expect(flags[key], key).not.toBeUndefined();
    expect(loadConfig(CoordinatorConfigSchema, { flags })).toEqual(values);
    await expect(parseServe(['--webhooks', '[]'])).rejects.toThrow(/--webhooks: unknown option/);
  });

  it('leaves a key to the file and the environment when its flag is not given', async () => {
    const flags = configFlagValues(await parseServe(['--port', '9003']), CoordinatorConfigSchema);
    expect(Object.entries(flags).filter(([, value]) => value !== undefined)).toEqual([['port', 9003]]);
  });

  it('lets a flag win over the environment and the file, booleans included', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nodepulse-flags-')), 'coordinator.yaml');
    writeFileSync(file, 'port: 9001\nmassSilenceGuard: true\nheartbeatInterval: 7\n');
    const env = { NODEPULSE_PORT: '9002', NODEPULSE_MASS_SILENCE_GUARD: 'true', NODEPULSE_HEARTBEAT_INTERVAL: '8' };
    const argv = await parseServe(['--port', '9003', '--mass-silence-guard', 'false']);
    const config = loadConfig(CoordinatorConfigSchema, { file, env, flags: configFlagValues(argv, CoordinatorConfigSchema) });
    expect(config).toMatchObject({ port: 9003, massSilenceGuard: false, heartbeatInterval: 8 });
    const negated = configFlagValues(await parseServe(['--no-mass-silence-guard']), CoordinatorConfigSchema);
    expect(loadConfig(CoordinatorConfigSchema, { file, env, flags: negated }).massSilenceGuard).toBe(false);
  });
});

describe('numeric flags', () => {
  it('are numbers in the help and in the parsed command line', async () => {
    const cli = await serveOptions(yargs(['coordinator', 'serve']));
    // Each option's entry runs up to the next option (yargs wraps long descriptions).
    const help = await cli.getHelp();
    const entry = (flag: string) => new RegExp(`\\n  --${flag} ([^]*?)(?=\\n  --)`).exec(help)?.[1] ?? '';
    expect(entry('port')).toMatch(/Port to listen on[^]*\[number\]/);
    expect(entry('mass-silence-threshold')).toMatch(/\[number\]/);
    expect(entry('store')).toMatch(/\[string\]/);
    expect(configFlagValues(await parseServe(['--port', '9003', '--mass-silence-threshold', '0.25']), CoordinatorConfigSchema)).toMatchObject({
      port: 9003,
      massSilenceThreshold: 0.25,
    });
  });

  it('refuse text as a configuration error naming the flag (exit 78); an integer key refuses a fraction', async () => {
    await expect(parseServe(['--port', 'eighty'])).rejects.toMatchObject({ problems: ['--port: expected a number'] });
    const flags = configFlagValues(await parseServe(['--port', '80.5']), CoordinatorConfigSchema);
    expect(() => loadConfig(CoordinatorConfigSchema, { flags })).toThrow(/port: Expected integer \(got 80.5 from option --port\)/);
  });
});

describe('an unknown argument to a daemon', () => {
  // The agent's commands: test/unit/cli/agent-command.test.ts.
  it('is a configuration error naming the flag (exit 78), for coordinator serve', async () => {
    const failure = parseServe(['--heartbeat-intervl', '5', 'extra']);
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toMatchObject({ problems: ['--heartbeat-intervl: unknown option', 'extra: unexpected argument'] });
  });
});
