import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENROLL_TOKEN_ENV_NAMES, loadAgentConfig } from '../../../src/agent/config.ts';
import { knownEnv } from '../../../src/cli/known-env.ts';
import { AGENT_RENAMED_ENV, OLD_ENV_NAMES, OPERATOR_RENAMED_ENV, renamedEnvWarnings, withCurrentEnvNames } from '../../../src/cli/renamed-env.ts';
import { envName, unknownEnvNames } from '../../../src/shared/config-loader.ts';

describe('the agent’s enrollment token in the environment', () => {
  it('is NODEPULSE_ENROLL_TOKEN (and _FILE), the name under which the coordinator installs it', () => {
    expect(loadAgentConfig({ env: { NODEPULSE_ENROLL_TOKEN: 'new' } }).token).toBe('new');
    expect(loadAgentConfig({ env: { NODEPULSE_ENROLL_TOKEN_FILE: '/run/t' } }).tokenFile).toBe('/run/t');
  });

  it('is still read under its old names when the new ones are unset; the new name wins when both are set', () => {
    expect(loadAgentConfig({ env: { NODEPULSE_TOKEN: 'old' } }).token).toBe('old');
    expect(loadAgentConfig({ env: { NODEPULSE_TOKEN_FILE: '/old' } }).tokenFile).toBe('/old');
    expect(loadAgentConfig({ env: { NODEPULSE_TOKEN: 'old', NODEPULSE_ENROLL_TOKEN: 'new' } }).token).toBe('new');
    expect(loadAgentConfig({ env: { NODEPULSE_TOKEN: 'old', NODEPULSE_ENROLL_TOKEN: '' } }).token).toBe('old');
  });

  it('renames exactly the names the agent’s config keys would get', () => {
    expect(AGENT_RENAMED_ENV).toEqual(Object.entries(ENROLL_TOKEN_ENV_NAMES).map(([key, current]) => ({ old: envName(key), current })));
  });
});

describe('renamed variables', () => {
  it('warn once per old name set, naming the new name and never the value', () => {
    const env = { NODEPULSE_TOKEN: 'np_secret', NODEPULSE_COORDINATOR_URL: 'http://c:8420' };
    const warnings = renamedEnvWarnings(env, OPERATOR_RENAMED_ENV);
    expect(warnings).toEqual([
      'NODEPULSE_TOKEN is renamed NODEPULSE_API_TOKEN; the old name is still read in this release (rename it)',
      'NODEPULSE_COORDINATOR_URL is renamed NODEPULSE_COORDINATOR; the old name is still read in this release (rename it)',
    ]);
    expect(warnings.join('\n')).not.toContain('np_secret');
    expect(renamedEnvWarnings(env, AGENT_RENAMED_ENV)).toEqual(['NODEPULSE_TOKEN is renamed NODEPULSE_ENROLL_TOKEN; the old name is still read in this release (rename it)']);
  });

  it('say an old name is ignored when the new one is set too; nothing when only new names are set', () => {
    expect(renamedEnvWarnings({ NODEPULSE_TOKEN: 'a', NODEPULSE_API_TOKEN: 'b' }, OPERATOR_RENAMED_ENV)).toEqual([
      'NODEPULSE_TOKEN is ignored: NODEPULSE_API_TOKEN is set (NODEPULSE_TOKEN is the old name; remove it)',
    ]);
    expect(renamedEnvWarnings({ NODEPULSE_API_TOKEN: 'b', NODEPULSE_COORDINATOR: 'http://c' }, OPERATOR_RENAMED_ENV)).toEqual([]);
  });

  it('are read under the new name only when it is unset', () => {
    expect(withCurrentEnvNames({ NODEPULSE_TOKEN: 'old' }, OPERATOR_RENAMED_ENV).NODEPULSE_API_TOKEN).toBe('old');
    expect(withCurrentEnvNames({ NODEPULSE_TOKEN: 'old', NODEPULSE_API_TOKEN: 'new' }, OPERATOR_RENAMED_ENV).NODEPULSE_API_TOKEN).toBe('new');
  });

  it('old and new, are all known: none is reported as a misspelling', () => {
    const names = [...AGENT_RENAMED_ENV, ...OPERATOR_RENAMED_ENV].flatMap(({ old, current }) => [old, current]);
    expect(unknownEnvNames(Object.fromEntries(names.map((name) => [name, 'x'])), knownEnv())).toEqual([]);
  });
});

describe('docs/configuration.md', () => {
  it('lists every NODEPULSE_* variable nodepulse reads in its one table, each old name beside its new one', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    const rows = new Map(
      doc
        .split('\n')
        .filter((line) => line.startsWith('| `NODEPULSE_'))
        .map((line) => [/^\| `([A-Z0-9_*]+)`/.exec(line)![1]!, line]),
    );
    const { names, prefixes } = knownEnv();
    const current = [...names].filter((name) => !OLD_ENV_NAMES.includes(name));
    // A missing row: add it to docs/configuration.md (name, who reads it, meaning).
    expect(current.filter((name) => !rows.has(name))).toEqual([]);
    for (const prefix of prefixes) expect(rows.has(`${prefix}*`), prefix).toBe(true);
    for (const { old, current: name } of [...AGENT_RENAMED_ENV, ...OPERATOR_RENAMED_ENV]) expect(rows.get(name), name).toContain(`\`${old}\``);
  });
});
