import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { AgentConfigSchema, loadAgentConfig, requireRunSettings } from '../../../src/agent/config.ts';
import { configProblems } from '../../helpers/config-problems.ts';

const EXAMPLE = join(import.meta.dirname, '..', '..', '..', 'config', 'agent.example.yaml');

const problems = configProblems;

describe('agent config', () => {
  it('loads the shipped example, and the example documents every key', () => {
    const config = loadAgentConfig({ file: EXAMPLE });
    expect(config.heartbeatInterval).toBe(15);
    const text = readFileSync(EXAMPLE, 'utf8');
    for (const key of Object.keys(AgentConfigSchema.properties)) expect(text, key).toMatch(new RegExp(`^#? ?${key}:`, 'm'));
  });

  it('layers file < environment < flags', () => {
    const config = loadAgentConfig({
      file: EXAMPLE,
      env: { NODEPULSE_HEARTBEAT_INTERVAL: '7', NODEPULSE_LABELS: '{"zone":"b"}', NODEPULSE_NAME: 'from-env' },
      flags: { name: 'from-flag' },
    });
    expect(config).toMatchObject({ heartbeatInterval: 7, labels: { zone: 'b' }, name: 'from-flag' });
  });

  it('accepts the commented-out example checks', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const block = text.slice(text.indexOf('checks: []'));
    const checks = block.split('\n').slice(1).map((l) => l.replace(/^#/, '')).join('\n');
    const parsed = YAML.parse(checks) as unknown[];
    expect(parsed).toHaveLength(5);
    expect(loadAgentConfig({ flags: { checks: parsed } }).checks).toHaveLength(5);
  });

  it('names every bad key and value', () => {
    const schema = problems(() => loadAgentConfig({ env: { NODEPULSE_HEARTBEAT_INTERVAL: 'soon', NODEPULSE_LOG_LEVEL: 'loud' } }));
    expect(schema.join('\n')).toMatch(/heartbeatInterval.*NODEPULSE_HEARTBEAT_INTERVAL/);
    expect(schema.join('\n')).toMatch(/logLevel/);
    const badCron = problems(() => loadAgentConfig({ flags: { checks: [{ name: 'a', type: 'command', command: ['true'], cron: 'not a cron' }] } }));
    expect(badCron).toEqual(['checks.0.cron: expected a node-cron schedule such as "*/10 * * * * *" (got "not a cron" from option --checks)']);
    const twice = [
      { name: 'a', type: 'command', command: ['true'], cron: '*/5 * * * * *', interval: 5 },
      { name: 'a', type: 'memory' },
    ];
    expect(problems(() => loadAgentConfig({ flags: { checks: twice } }))).toEqual([
      'checks.0: give either interval or cron, not both',
      'checks.1.name: duplicate check name "a"',
    ]);
  });

  it('names the key inside the check its type selects, from the file and the environment alike', () => {
    const checks = [
      { name: 'web', type: 'http', url: 'http://127.0.0.1', cron: '61 * * * *' },
      { name: 'db', type: 'tcp', host: 'db', port: 'five' },
    ];
    const found = problems(() => loadAgentConfig({ env: { NODEPULSE_CHECKS: JSON.stringify(checks) } }));
    expect(found).toEqual([expect.stringMatching(/^checks\.0\.cron: expected a node-cron schedule/), expect.stringMatching(/^checks\.1\.port: /)]);
    expect(found.join('\n')).toMatch(/from environment NODEPULSE_CHECKS/);
    // A type no check has selects no member: the problem names the check.
    expect(problems(() => loadAgentConfig({ flags: { checks: [{ name: 'x', type: 'ping' }] } }))).toEqual([expect.stringMatching(/^checks\.0: /)]);
  });

  it('gives every duration in seconds, as its flag help and the key table of docs/agent.md say', () => {
    const docs = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'agent.md'), 'utf8');
    // Rows `| key / key | default | unit | meaning |`: the unit of each key.
    const units = new Map<string, string>();
    for (const [, keys = '', unit = ''] of docs.matchAll(/^\| (`\w+`(?: \/ `\w+`)*) \| [^|]* \| ([^|]*) \|/gm)) {
      for (const key of keys.match(/\w+/g) ?? []) units.set(key, unit.trim());
    }
    for (const [key, property] of Object.entries(AgentConfigSchema.properties)) {
      const seconds = String(property.description).startsWith('Seconds ');
      expect(units.has(key), key).toBe(true);
      expect(units.get(key) === 'seconds', key).toBe(seconds);
    }
  });

  it('requires a coordinator and a token to run', () => {
    const found = problems(() => requireRunSettings(loadAgentConfig({})));
    expect(found).toEqual([expect.stringMatching(/^coordinator: required/), expect.stringMatching(/^token: required/)]);
    expect(problems(() => requireRunSettings(loadAgentConfig({ env: { NODEPULSE_COORDINATOR: 'http://c', NODEPULSE_ENROLL_TOKEN: 't' } })))).toEqual([]);
  });
});
