import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from '../../shared/errors.ts';
import type { CoordinatorConfig } from '../config.ts';
import { TRANSITION_KINDS, type TransitionKind } from '../store/transitions.ts';

/**
 * One sink as the config file (or NODEPULSE_WEBHOOKS, JSON) writes it. The secret comes from
 * exactly one of `secret`, `secretFile` (a trailing newline dropped) or `secretEnv` (the name of
 * an environment variable); it is never a flag, and no problem reported here quotes it.
 */
export const WebhookSinkSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description: 'Names the sink in logs, metrics and the store' }),
    url: Type.String({ minLength: 1, description: 'http:// or https:// URL each event is POSTed to' }),
    secret: Type.Optional(Type.String()),
    secretFile: Type.Optional(Type.String({ minLength: 1 })),
    secretEnv: Type.Optional(Type.String({ minLength: 1 })),
    events: Type.Optional(Type.Array(Type.Union(TRANSITION_KINDS.map((kind) => Type.Literal(kind))), { minItems: 1 })),
    clusters: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
  },
  { additionalProperties: false },
);
type WebhookSinkConfig = Static<typeof WebhookSinkSchema>;

/** HMAC-SHA256 keys shorter than this are guessable offline from one signed delivery. */
export const WEBHOOK_SECRET_MIN_BYTES = 16;

export interface WebhookSink {
  name: string;
  url: URL;
  /** The HMAC key: never logged, never in an error. */
  secret: Uint8Array;
  /** The environment variable it came from, if any. */
  secretEnv?: string | undefined;
  /** The kinds it receives; every kind when absent. */
  events?: ReadonlySet<TransitionKind> | undefined;
  /** The cluster names it receives; every cluster when absent. */
  clusters?: ReadonlySet<string> | undefined;
}

export interface RetryPolicy {
  /** The delay after a first failed attempt; it doubles with each attempt after. */
  baseMs: number;
  /** The longest delay between two attempts. */
  maxMs: number;
}

export interface WebhookSettings {
  sinks: readonly WebhookSink[];
  /** A delivery that has not answered in this time failed. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** The environment variables the secrets came from (secretEnv): read, so never reported as unknown. */
  secretEnvNames: readonly string[];
}

const WEBHOOK_RETRY_BASE_MS = 1000;

/**
 * The webhook sinks of the config, their secrets read, or undefined when there is none. Every
 * problem is a ConfigError naming its key (`webhooks.0.url`): the caller exits 78.
 */
export function resolveWebhookSettings(config: CoordinatorConfig, env: NodeJS.ProcessEnv): WebhookSettings | undefined {
  if (config.webhooks === undefined) return undefined;
  const problems: string[] = [];
  const listed = sinkList(config.webhooks);
  if (!listed) throw new ConfigError(['webhooks: expected a list of sinks ({name, url, secret | secretFile | secretEnv, events?, clusters?})']);
  const sinks: WebhookSink[] = [];
  const names = new Set<string>();
  listed.forEach((entry: unknown, index) => {
    const key = `webhooks.${index}`;
    const shapeProblems = [...Value.Errors(WebhookSinkSchema, entry)].map((error) => {
      const path = error.path.replace(/^\//, '').replace(/\//g, '.');
      // The value is left out: it may be the secret.
      return `${key}${path ? `.${path}` : ''}: ${error.message}`;
    });
    if (shapeProblems.length > 0) {
      problems.push(...shapeProblems);
      return;
    }
    const sink = entry as WebhookSinkConfig;
    if (names.has(sink.name)) problems.push(`${key}.name: another sink is named ${sink.name}`);
    names.add(sink.name);
    const url = URL.canParse(sink.url) ? new URL(sink.url) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) problems.push(`${key}.url: expected an http:// or https:// URL`);
    // fetch refuses credentials in a URL; the signature is what authenticates the coordinator.
    else if (url.username || url.password) problems.push(`${key}.url: must not carry a user name or password`);
    const secret = secretOf(sink, key, env, problems);
    if (!url || secret === undefined) return;
    sinks.push({
      name: sink.name,
      url,
      secret,
      ...(sink.secretEnv === undefined ? {} : { secretEnv: sink.secretEnv }),
      ...(sink.events ? { events: new Set(sink.events) } : {}),
      ...(sink.clusters ? { clusters: new Set(sink.clusters) } : {}),
    });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  if (sinks.length === 0) return undefined;
  return {
    sinks,
    timeoutMs: config.webhookTimeoutSecs * 1000,
    secretEnvNames: sinks.flatMap((sink) => (sink.secretEnv === undefined ? [] : [sink.secretEnv])),
    retry: { baseMs: Math.min(WEBHOOK_RETRY_BASE_MS, config.webhookRetryMaxDelaySecs * 1000), maxMs: config.webhookRetryMaxDelaySecs * 1000 },
  };
}

/** The list from the file, or from NODEPULSE_WEBHOOKS as JSON text; undefined when it is neither (never echoed: it may hold a secret). */
function sinkList(value: unknown): unknown[] | undefined {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return Array.isArray(value) ? value : undefined;
}

function secretOf(sink: WebhookSinkConfig, key: string, env: NodeJS.ProcessEnv, problems: string[]): Uint8Array | undefined {
  const given = [sink.secret !== undefined && 'secret', sink.secretFile !== undefined && 'secretFile', sink.secretEnv !== undefined && 'secretEnv'].filter(Boolean);
  if (given.length !== 1) {
    problems.push(`${key}: give the signing secret once, as secret, secretFile or secretEnv${given.length > 1 ? ` (got ${given.join(', ')})` : ''}`);
    return undefined;
  }
  let text: string | undefined = sink.secret;
  let from = `${key}.secret`;
  if (sink.secretFile !== undefined) {
    from = `${key}.secretFile`;
    try {
      text = readFileSync(sink.secretFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(`${from}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}: cannot read ${sink.secretFile}`);
      return undefined;
    }
  } else if (sink.secretEnv !== undefined) {
    from = `${key}.secretEnv`;
    text = env[sink.secretEnv];
    if (!text) {
      problems.push(`${from}: the environment variable ${sink.secretEnv} is not set`);
      return undefined;
    }
  }
  const bytes = new TextEncoder().encode(text);
  if (bytes.length < WEBHOOK_SECRET_MIN_BYTES) {
    problems.push(`${from}: the signing secret must be at least ${WEBHOOK_SECRET_MIN_BYTES} bytes (openssl rand -hex 32)`);
    return undefined;
  }
  return bytes;
}
