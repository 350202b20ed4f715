import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CoordinatorConfigSchema } from '../../../../src/coordinator/config.ts';
import { resolveWebhookSettings } from '../../../../src/coordinator/webhooks/webhook-settings.ts';
import { loadConfig } from '../../../../src/shared/config-loader.ts';
import { configProblems } from '../../../helpers/config-problems.ts';

const dir = mkdtempSync(join(tmpdir(), 'nodepulse-webhook-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = 'sink-secret-0123456789abcdef';

function configFile(text: string): string {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, text);
  return path;
}

const fromFile = (text: string, env: NodeJS.ProcessEnv = {}) => resolveWebhookSettings(loadConfig(CoordinatorConfigSchema, { file: configFile(text) }), env);
const problems = (text: string, env: NodeJS.ProcessEnv = {}) => configProblems(() => fromFile(text, env));

describe('webhook settings', () => {
  it('are off without sinks', () => {
    expect(resolveWebhookSettings(loadConfig(CoordinatorConfigSchema, {}), {})).toBeUndefined();
  });

  it('read each sink from the config file, its secret from the file itself, a secret file or an environment variable', () => {
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    const settings = fromFile(
      `webhooks:
  - {name: inline, url: "https://hooks.example.com/a", secret: ${SECRET}}
  - {name: from-file, url: "http://127.0.0.1:9000/b", secretFile: ${secretFile}, events: [node-terminated, hold-started]}
  - {name: from-env, url: "https://hooks.example.com/c", secretEnv: PAGER_WEBHOOK_SECRET, clusters: [edge]}
webhookRetryMaxDelaySecs: 60
`,
      { PAGER_WEBHOOK_SECRET: SECRET },
    );
    const secret = new TextEncoder().encode(SECRET);
    expect(settings?.sinks.map((sink) => [sink.name, sink.url.href, sink.secret])).toEqual([
      ['inline', 'https://hooks.example.com/a', secret],
      ['from-file', 'http://127.0.0.1:9000/b', secret],
      ['from-env', 'https://hooks.example.com/c', secret],
    ]);
    expect(settings?.sinks[0]?.events).toBeUndefined();
    expect([...(settings?.sinks[1]?.events ?? [])]).toEqual(['node-terminated', 'hold-started']);
    expect([...(settings?.sinks[2]?.clusters ?? [])]).toEqual(['edge']);
    expect(settings).toMatchObject({ timeoutMs: 10_000, retry: { baseMs: 1000, maxMs: 60_000 }, secretEnvNames: ['PAGER_WEBHOOK_SECRET'] });
  });

  it('take the list from NODEPULSE_WEBHOOKS as JSON', () => {
    const config = loadConfig(CoordinatorConfigSchema, { env: { NODEPULSE_WEBHOOKS: JSON.stringify([{ name: 'env', url: 'https://h.example.com/', secret: SECRET }]) } });
    expect(resolveWebhookSettings(config, {})?.sinks.map((sink) => sink.name)).toEqual(['env']);
  });

  it('report every problem by key, and never quote a secret', () => {
    const reported = problems(
      `webhooks:
  - {name: Bad Name, url: "ftp://x", secret: ${SECRET}}
  - {name: dup, url: "https://h.example.com/", secret: short-secret-1}
  - {name: dup, url: "https://user:${SECRET}@h.example.com/", secret: ${SECRET}, secretEnv: UNSET_VARIABLE}
  - {name: kinds, url: "https://h.example.com/", secret: ${SECRET}, events: [node-exploded], colour: blue}
  - {name: from-env, url: "https://h.example.com/", secretEnv: UNSET_VARIABLE}
`,
    );
    expect(reported).toEqual([
      expect.stringMatching(/^webhooks\.0\.name: /),
      expect.stringMatching(/^webhooks\.1\.secret: the signing secret must be at least 16 bytes/),
      'webhooks.2.name: another sink is named dup',
      'webhooks.2.url: must not carry a user name or password',
      'webhooks.2: give the signing secret once, as secret, secretFile or secretEnv (got secret, secretEnv)',
      expect.stringMatching(/^webhooks\.3\./),
      expect.stringMatching(/^webhooks\.3\./),
      'webhooks.4.secretEnv: the environment variable UNSET_VARIABLE is not set',
    ]);
    expect(reported.join('\n')).not.toContain(SECRET);
    expect(reported.join('\n')).not.toContain('short-secret-1');
    expect(problems('webhooks: {pager: {secret: do-not-print-me}}')).toEqual([expect.stringMatching(/^webhooks: expected a list of sinks/)]);
    expect(problems('webhooks: {pager: {secret: do-not-print-me}}').join()).not.toContain('do-not-print-me');
    expect(problems(`webhooks:\n  - {name: a, url: "https://h.example.com/", secretFile: ${join(dir, 'missing')}}\n`)).toEqual([
      expect.stringMatching(/^webhooks\.0\.secretFile: ENOENT/),
    ]);
  });
});
