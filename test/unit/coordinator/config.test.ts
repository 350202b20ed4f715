import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CoordinatorConfigSchema, resolveTimeouts, timeoutWarning } from '../../../src/coordinator/config.ts';
import { loadConfig } from '../../../src/shared/config-loader.ts';
import { ConfigError } from '../../../src/shared/errors.ts';

const EXAMPLE = new URL('../../../config/coordinator.example.yaml', import.meta.url);

describe('coordinator config', () => {
  it('ships an example file that loads cleanly and documents every key with its default', () => {
    const fromFile = loadConfig(CoordinatorConfigSchema, { file: EXAMPLE.pathname });
    const defaults = loadConfig(CoordinatorConfigSchema, {});
    expect(fromFile).toEqual(defaults);
    const text = readFileSync(EXAMPLE, 'utf8');
    for (const key of Object.keys(CoordinatorConfigSchema.properties)) expect(text).toMatch(new RegExp(`^${key}:`, 'm'));
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
    expect(timeoutWarning(defaults)).toBeUndefined();
    expect(() => resolveTimeouts(loadConfig(CoordinatorConfigSchema, { flags: { heartbeatInterval: 10, heartbeatTimeout: 19 } }))).toThrow(ConfigError);
    expect(timeoutWarning(resolveTimeouts(loadConfig(CoordinatorConfigSchema, { flags: { heartbeatInterval: 10, heartbeatTimeout: 25 } })))).toMatch(/under three/);
  });
});
