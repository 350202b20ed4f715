import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { knownEnv } from '../../../src/cli/known-env.ts';
import { CoordinatorConfigSchema, resolveTimeouts, timeoutWarnings } from '../../../src/coordinator/config.ts';
import { loadConfig, unknownEnvNames } from '../../../src/shared/config-loader.ts';
import { ConfigError } from '../../../src/shared/errors.ts';

const EXAMPLE = new URL('../../../config/coordinator.example.yaml', import.meta.url);

describe('coordinator config', () => {
  it('ships an example file that loads cleanly and documents every key with its default', () => {
    const fromFile = loadConfig(CoordinatorConfigSchema, { file: EXAMPLE.pathname });
    const defaults = loadConfig(CoordinatorConfigSchema, {});
    expect(fromFile).toEqual(defaults);
    const text = readFileSync(EXAMPLE, 'utf8');
    // A key without a default (the TLS files) is shown commented out, with an example value.
    for (const [key, property] of Object.entries(CoordinatorConfigSchema.properties)) {
      expect(text, key).toMatch(new RegExp(property.default === undefined ? `^# ${key}: \\S` : `^${key}:`, 'm'));
    }
  });

  it('layers defaults < file < environment < flags', () => {
    const config = loadConfig(CoordinatorConfigSchema, {
      file: EXAMPLE.pathname,
      env: { NODEPULSE_HEARTBEAT_INTERVAL: '20', NODEPULSE_PORT: '9000' },
      flags: { port: '9100', host: undefined },
    });
    expect(config).toMatchObject({ heartbeatInterval: 20, port: 9100, host: '127.0.0.1' });
  });

  it('reports every bad key at once, by name and origin', () => {
    try {
      loadConfig(CoordinatorConfigSchema, { env: { NODEPULSE_PORT: '70000', NODEPULSE_MASS_SILENCE_THRESHOLD: '2' }, flags: { logLevel: 'loud' } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as ConfigError).problems.join('\n');
      expect(text).toContain('port');
      expect(text).toContain('NODEPULSE_PORT');
      expect(text).toContain('massSilenceThreshold');
      expect(text).toContain('logLevel');
    }
  });

  it('defaults the timeout to three intervals plus grace, refuses under two intervals, warns under three', () => {
    const defaults = resolveTimeouts(loadConfig(CoordinatorConfigSchema, {}));
    expect(defaults).toMatchObject({ intervalMs: 10_000, timeoutMs: 35_000 });
    expect(timeoutWarnings(defaults, 1000)).toEqual([]);
    expect(() => resolveTimeouts(loadConfig(CoordinatorConfigSchema, { flags: { heartbeatInterval: 10, heartbeatTimeout: 19 } }))).toThrow(ConfigError);
    const short = resolveTimeouts(loadConfig(CoordinatorConfigSchema, { flags: { heartbeatInterval: 10, heartbeatTimeout: 25 } }));
    expect(timeoutWarnings(short, 1000)).toEqual([expect.stringMatching(/under three/)]);
  });

  it('grants a timeout plus the agents\' backoff cap as grace, and judges overdue halfway between a live and a cut node', () => {
    const settings = resolveTimeouts(loadConfig(CoordinatorConfigSchema, { flags: { heartbeatInterval: 10, agentRetryMaxDelaySecs: 20 } }));
    expect(settings).toMatchObject({ timeoutMs: 35_000, agentRetryMaxDelayMs: 20_000, graceMs: 55_000, overdueAfterMs: 18_000 });
    // Live nodes look silent for up to 11 s in the store (an interval and a flush); cut ones for 25 s when the first expires.
    expect(settings.overdueAfterMs).toBeGreaterThan(10_000 + 1_000);
    expect(settings.overdueAfterMs).toBeLessThan(35_000 - 10_000);
    const tight = resolveTimeouts(loadConfig(CoordinatorConfigSchema, { flags: { heartbeatInterval: 10, heartbeatTimeout: 20 } }));
    expect(timeoutWarnings(tight, 1000)).toContainEqual(expect.stringMatching(/mass-silence guard may let the first nodes of a network cut/));
  });

  it('reads the file NODEPULSE_CONFIG names, unless --config names another', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodepulse-config-'));
    const fromEnv = join(dir, 'env.yaml');
    const fromFlag = join(dir, 'flag.yaml');
    writeFileSync(fromEnv, 'port: 9001\n');
    writeFileSync(fromFlag, 'port: 9002\n');
    expect(loadConfig(CoordinatorConfigSchema, { env: { NODEPULSE_CONFIG: fromEnv } }).port).toBe(9001);
    expect(loadConfig(CoordinatorConfigSchema, { file: fromFlag, env: { NODEPULSE_CONFIG: fromEnv } }).port).toBe(9002);
  });

  it('refuses a schedule node-cron would not accept, naming the key and where it came from', () => {
    const problems = (sources: Parameters<typeof loadConfig>[1]) => {
      try {
        loadConfig(CoordinatorConfigSchema, sources);
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ env: { NODEPULSE_MONITOR_SCHEDULE: 'bogus' } })).toEqual([
      'monitorSchedule: expected a node-cron schedule such as "*/10 * * * * *" (got "bogus" from environment NODEPULSE_MONITOR_SCHEDULE)',
    ]);
    expect(problems({ flags: { sweepSchedule: '61 * * * * *' } })).toEqual([expect.stringMatching(/^sweepSchedule: .*--sweep-schedule/)]);
    expect(problems({ flags: { sweepSchedule: '*/2 * * * * *', monitorSchedule: '0 */5 * * * *' } })).toEqual([]);
  });

  it('has no secret among its keys: every key is also a flag, and flags show in ps', () => {
    // tlsKey names the file of the TLS key, like any path: the key itself never leaves that file.
    const keys = Object.keys(CoordinatorConfigSchema.properties).filter((key) => key !== 'tlsKey');
    for (const key of keys) expect(key).not.toMatch(/(token|secret|password|key)$/i);
    expect(CoordinatorConfigSchema.properties.tlsKey.description).toMatch(/file/);
  });
});

describe('NODEPULSE_* variables nobody reads', () => {
  it('names misspelled ones, and none that the agent, the coordinator or the CLI reads', () => {
    const env = {
      NODEPULSE_HEARTBEAT_INTERVL: '5',
      NODEPULSE_ADMN_TOKEN: 'secret',
      NODEPULSE_HEARTBEAT_INTERVAL: '5',
      NODEPULSE_STORE_URL: 'postgres://db/np',
      NODEPULSE_ADMIN_TOKEN: 'a',
      NODEPULSE_ENROLL_TOKEN: 'e',
      NODEPULSE_CONFIG: '/etc/nodepulse.yaml',
      NODEPULSE_TOKEN: 't',
      NODEPULSE_TOKEN_FILE: '/run/token',
      NODEPULSE_STATE_DIR: '/var/lib/nodepulse-agent',
      NODEPULSE_BOOT_ID: 'b',
      NODEPULSE_FAULT_HANG_COLLECTOR: 'cpu',
      NODEPULSE_COORDINATOR_URL: 'http://c:8420',
      PATH: '/usr/bin',
    };
    expect(unknownEnvNames(env, knownEnv())).toEqual(['NODEPULSE_ADMN_TOKEN', 'NODEPULSE_HEARTBEAT_INTERVL']);
  });

  it('knows every NODEPULSE_* name the sources read', () => {
    const root = new URL('../../../src/', import.meta.url).pathname;
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const code = files.map((file) => readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')).join('\n');
    const read = [...new Set(code.match(/NODEPULSE_[A-Z0-9_]*/g))];
    // A name ending in _ is a prefix: NODEPULSE_ itself, or a family such as NODEPULSE_FAULT_.
    const prefixes = read.filter((name) => name.endsWith('_') && name !== 'NODEPULSE_');
    const names = read.filter((name) => !name.endsWith('_'));
    expect(names.length).toBeGreaterThan(5);
    expect(knownEnv().prefixes).toEqual(expect.arrayContaining(prefixes));
    expect(unknownEnvNames(Object.fromEntries(names.map((name) => [name, 'x'])), knownEnv())).toEqual([]);
  });
});
