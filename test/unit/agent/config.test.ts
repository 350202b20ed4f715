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
    const found = problems(() =>
      loadAgentConfig({
        flags: { checks: [{ name: 'a', type: 'command', command: ['true'], cron: 'not a cron' }, { name: 'a', type: 'memory' }] },
      }),
    );
    expect(found.join('\n')).toMatch(/invalid cron expression/);
    expect(found.join('\n')).toMatch(/duplicate check name/);
  });

  it('requires a coordinator and a token to run', () => {
    const found = problems(() => requireRunSettings(loadAgentConfig({})));
    expect(found).toEqual([expect.stringMatching(/^coordinator: required/), expect.stringMatching(/^token: required/)]);
    expect(problems(() => requireRunSettings(loadAgentConfig({ env: { NODEPULSE_COORDINATOR: 'http://c', NODEPULSE_TOKEN: 't' } })))).toEqual([]);
  });
});
