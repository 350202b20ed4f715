import { type Static, Type } from '@sinclair/typebox';
import { CONFIG_FILE_ENV, envNamesOf } from '../shared/config-loader.ts';
import { PRINTABLE_PATTERN } from '../shared/control-characters.ts';
import { ConfigError } from '../shared/errors.ts';
import { LOG_LEVELS } from '../shared/logger.ts';

/**
 * One cluster's own heartbeat interval and timeout, named as the global keys are. A key left out
 * takes the global key's value, except a timeout with the cluster's own interval: 3 of its
 * intervals + 5 (a global timeout is sized for the global interval).
 */
const ClusterTimeoutsSchema = Type.Object(
  {
    heartbeatInterval: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, description: 'Seconds between heartbeats of this cluster’s agents' })),
    heartbeatTimeout: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400, description: 'Seconds of silence before a node of this cluster is timed out (0: 3 intervals + 5)' })),
  },
  { additionalProperties: false },
);

/**
 * Every coordinator setting with its default and a one-line description (the flag's help). The
 * same keys work in the config file (camelCase), as NODEPULSE_* environment variables and as
 * --kebab-case flags, all generated from this schema. config/coordinator.example.yaml documents
 * each key. No key is a secret: secrets never become flags (they show in `ps`); tlsKey is the path
 * of a key file, never a key. A key marked `fileOnly` (the webhook sinks, which may hold their
 * signing secrets) is no flag at all.
 */
export const CoordinatorConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Address to listen on' }),
    port: Type.Integer({ default: 8420, minimum: 0, maximum: 65535, description: 'Port to listen on (0 picks a free one)' }),
    tlsCert: Type.Optional(
      Type.String({ minLength: 1, description: 'Certificate file (PEM, with its chain): serve HTTPS only, with tlsKey; SIGHUP re-reads it' }),
    ),
    tlsKey: Type.Optional(Type.String({ minLength: 1, description: 'Private key file (PEM) of tlsCert' })),
    tlsClientCa: Type.Optional(
      Type.String({ minLength: 1, description: 'CA bundle (PEM): require client certificates signed by it (mutual TLS; with tlsCert)' }),
    ),
    store: Type.String({ default: './data/nodepulse.db', minLength: 1, description: 'SQLite file path or postgres:// URL' }),
    storePoolSize: Type.Integer({ default: 10, minimum: 1, maximum: 200, description: 'PostgreSQL pool size' }),
    logLevel: Type.Union(
      LOG_LEVELS.map((level) => Type.Literal(level)),
      { default: 'info', description: 'error, warn, info or debug (debug logs every request)' },
    ),
    heartbeatInterval: Type.Integer({ default: 10, minimum: 1, maximum: 3600, description: 'Seconds between an agent’s heartbeats' }),
    heartbeatTimeout: Type.Integer({
      default: 0,
      minimum: 0,
      maximum: 86_400,
      description: 'Seconds of silence before a node is timed out (0: 3 intervals + 5)',
    }),
    clusters: Type.Record(Type.String({ minLength: 1, maxLength: 128, pattern: PRINTABLE_PATTERN }), ClusterTimeoutsSchema, {
      default: {},
      description: 'Per cluster name, its own heartbeatInterval and heartbeatTimeout (JSON on the command line: {"edge":{"heartbeatInterval":30}})',
    }),
    sweepSchedule: Type.String({ default: '* * * * * *', format: 'cron', description: 'node-cron schedule of the sweeper' }),
    flushIntervalMs: Type.Integer({
      default: 1000,
      minimum: 1000,
      maximum: 60_000,
      description: 'Milliseconds between batched writes of heartbeat timestamps',
    }),
    sweepLateThresholdMs: Type.Integer({
      default: 2000,
      minimum: 100,
      maximum: 600_000,
      description: 'A gap in the coordinator’s own progress longer than this (ms) is a stall: a timeout grace follows',
    }),
    agentRetryMaxDelaySecs: Type.Integer({
      default: 30,
      minimum: 1,
      maximum: 3600,
      description: 'Longest retry backoff agents use (handed out at registration); every timeout grace lasts the timeout plus this',
    }),
    massSilenceGuard: Type.Boolean({ default: true, description: 'Hold terminations when most of a cluster falls silent at once' }),
    massSilenceThreshold: Type.Number({
      default: 0.5,
      exclusiveMinimum: 0,
      maximum: 1,
      description: 'Share of a cluster gone silent (overdue or timed out within a timeout) above which its terminations are held',
    }),
    massSilenceMinNodes: Type.Integer({ default: 3, minimum: 1, description: 'Smallest cluster the guard protects' }),
    massSilenceMaxHoldSecs: Type.Integer({ default: 0, minimum: 0, description: 'Longest hold in seconds (0: 10 timeouts)' }),
    duplicateIdentityWindowSecs: Type.Integer({
      default: 0,
      minimum: 0,
      description: 'A registration is refused as a clone while the instance’s node heartbeated this recently (0: 1.5 intervals)',
    }),
    bodyLimitBytes: Type.Integer({ default: 65_536, minimum: 1024, maximum: 16_777_216, description: 'Largest request body' }),
    requestReceiveTimeoutMs: Type.Integer({
      default: 10_000,
      minimum: 100,
      maximum: 600_000,
      description: 'Milliseconds a request (headers and body) may take to arrive; a slower one is answered 408 and its connection closed',
    }),
    tokenCacheSecs: Type.Integer({
      default: 10,
      minimum: 0,
      maximum: 3600,
      description: 'Seconds a looked-up operator token is trusted before the store is asked again',
    }),
    authFailureLimit: Type.Integer({
      default: 100,
      minimum: 1,
      maximum: 1_000_000,
      description: 'Failed authentications a client address may have per window; past it, its requests are answered 429 until the window ends',
    }),
    authFailureWindowSecs: Type.Integer({ default: 60, minimum: 1, maximum: 86_400, description: 'Seconds of the failed-authentication window' }),
    authThrottleDelayMs: Type.Integer({
      default: 1000,
      minimum: 0,
      maximum: 10_000,
      description: 'Milliseconds a 429 for too many failed authentications is held before it is sent, so a client that waits for its answers slows down',
    }),
    jwtSecretFile: Type.Optional(
      Type.String({ minLength: 1, description: 'File holding the HS256 secret of JWT bearer tokens (or NODEPULSE_JWT_SECRET; never a flag)' }),
    ),
    jwtJwksFile: Type.Optional(Type.String({ minLength: 1, description: 'JSON Web Key Set file of RS256/ES256 JWT keys; re-read when it changes' })),
    jwtJwksUrl: Type.Optional(Type.String({ minLength: 1, description: 'https:// URL of the RS256/ES256 JWT keys (a JSON Web Key Set), cached and refreshed' })),
    jwtAudience: Type.Optional(Type.String({ minLength: 1, description: 'The aud a JWT must name (required with JWT keys)' })),
    jwtIssuer: Type.Optional(Type.String({ minLength: 1, description: 'The iss a JWT must name (required with JWT keys)' })),
    jwtClockToleranceSecs: Type.Integer({ default: 30, minimum: 0, maximum: 300, description: 'Seconds of clock skew allowed on a JWT’s exp and nbf' }),
    jwtRoleClaim: Type.String({ default: 'nodepulse_role', minLength: 1, description: 'The JWT claim that names the role: admin, reader or enroll' }),
    jwtClusterClaim: Type.String({ default: 'nodepulse_cluster', minLength: 1, description: 'The JWT claim that names an enroll token’s cluster' }),
    jwtJwksRefreshSecs: Type.Integer({
      default: 60,
      minimum: 1,
      maximum: 86_400,
      description: 'Seconds between refreshes of the JWT key set (jwtJwksUrl fetched again, jwtJwksFile re-read if changed)',
    }),
    monitorSchedule: Type.String({ default: '*/10 * * * * *', format: 'cron', description: 'node-cron schedule of the cluster monitor' }),
    monitorKeepaliveSecs: Type.Integer({ default: 600, minimum: 10, maximum: 259_200, description: 'Seconds between keepalive monitor events (at most 72 h, the events retention)' }),
    healthCheckTimeoutSecs: Type.Integer({
      default: 300,
      minimum: 5,
      description: 'Seconds a requested health check may wait for its report before it is an error',
    }),
    historyRetentionDays: Type.Number({
      default: 30,
      exclusiveMinimum: 0,
      maximum: 36_500,
      description: 'Days the transitions log (history, watch stream) and Terminated nodes are kept; each instance keeps its newest node',
    }),
    // Not a flag (fileOnly): a sink may carry its secret, and flags show in `ps`. Validated by
    // webhooks/webhook-settings.ts, whose problems never quote a value.
    // No default: TypeBox's defaulting would replace a mapping given by mistake with it, hiding the mistake.
    webhooks: Type.Optional(
      Type.Unknown({
        fileOnly: true,
        description: 'Webhook sinks, each {name, url, secret | secretFile | secretEnv, events?, clusters?}: the config file, or NODEPULSE_WEBHOOKS as JSON (docs/webhooks.md)',
      }),
    ),
    webhookTimeoutSecs: Type.Integer({ default: 10, minimum: 1, maximum: 300, description: 'Seconds a webhook delivery may take before it counts as failed and is retried' }),
    webhookRetryMaxDelaySecs: Type.Integer({
      default: 300,
      minimum: 1,
      maximum: 86_400,
      description: 'Longest delay between two attempts to deliver a webhook event (the delay doubles from 1 s, with jitter)',
    }),
  },
  { additionalProperties: false },
);

export type CoordinatorConfig = Static<typeof CoordinatorConfigSchema>;

/** Bootstrap tokens (first start, quick start, containers): secrets, so environment only, never flags. */
export const ADMIN_TOKEN_ENV = 'NODEPULSE_ADMIN_TOKEN';
export const ENROLL_TOKEN_ENV = 'NODEPULSE_ENROLL_TOKEN';
/** The HS256 secret of JWT bearer tokens, when not in jwtSecretFile. */
export const JWT_SECRET_ENV = 'NODEPULSE_JWT_SECRET';
/** The usual spelling for a connection string: names the store like NODEPULSE_STORE. */
const STORE_URL_ENV = 'NODEPULSE_STORE_URL';

/** Every NODEPULSE_* variable the coordinator reads. */
export const COORDINATOR_ENV_NAMES: readonly string[] = [
  ...envNamesOf(CoordinatorConfigSchema),
  CONFIG_FILE_ENV,
  ADMIN_TOKEN_ENV,
  ENROLL_TOKEN_ENV,
  JWT_SECRET_ENV,
  STORE_URL_ENV,
];

/** Environment aliases: NODEPULSE_STORE_URL names the store; NODEPULSE_STORE wins when both are set. */
export function withEnvAliases(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!env.NODEPULSE_STORE && env[STORE_URL_ENV]) return { ...env, NODEPULSE_STORE: env[STORE_URL_ENV] };
  return env;
}

/** The timeout rules, resolved from the config once. */
export interface TimeoutSettings {
  intervalMs: number;
  timeoutMs: number;
  /** The longest retry backoff agents are told to use (they adopt it at registration). */
  agentRetryMaxDelayMs: number;
  /**
   * How long nobody is timed out after a gap in the coordinator's own progress (start, takeover,
   * store outage, stall): a full timeout after every agent's retry, however far it had backed off.
   */
  graceMs: number;
  /**
   * The mass-silence guard counts a node as gone silent past this: halfway between the longest
   * silence a live node shows in the store (an interval plus a flush) and the shortest a cut node
   * shows when the first cut node expires (the timeout less an interval).
   */
  overdueAfterMs: number;
  lateThresholdMs: number;
  duplicateWindowMs: number;
  massSilence: { enabled: boolean; threshold: number; minNodes: number; maxHoldMs: number };
  /**
   * The clusters configured with their own interval or timeout (`clusters`), each resolved in
   * full; every other cluster uses these settings. Absent: none.
   */
  clusters?: ReadonlyMap<string, TimeoutSettings> | undefined;
}

export const DEFAULT_TIMEOUT_GRACE_SECS = 5;

export function resolveTimeouts(config: CoordinatorConfig): TimeoutSettings {
  const problems: string[] = [];
  const defaults = resolveOne(config, config.heartbeatInterval, config.heartbeatTimeout, '', problems);
  const clusters = new Map<string, TimeoutSettings>();
  for (const [name, own] of Object.entries(config.clusters)) {
    const intervalSecs = own.heartbeatInterval ?? config.heartbeatInterval;
    // A cluster with its own interval but no timeout of its own gets 3 of its intervals + 5, not a
    // global timeout sized for another interval.
    const timeoutSecs = own.heartbeatTimeout ?? (own.heartbeatInterval === undefined ? config.heartbeatTimeout : 0);
    clusters.set(name, resolveOne(config, intervalSecs, timeoutSecs, `clusters.${name}.`, problems));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return clusters.size > 0 ? { ...defaults, clusters } : defaults;
}

/** The settings of one cluster (or the global ones, prefix ''); a timeout under two intervals is a problem named by its key. */
function resolveOne(config: CoordinatorConfig, intervalSecs: number, configuredTimeoutSecs: number, prefix: string, problems: string[]): TimeoutSettings {
  const timeoutSecs = configuredTimeoutSecs || 3 * intervalSecs + DEFAULT_TIMEOUT_GRACE_SECS;
  if (timeoutSecs < 2 * intervalSecs) {
    problems.push(
      `${prefix}heartbeatTimeout: ${timeoutSecs}s is shorter than two heartbeat intervals (${2 * intervalSecs}s); one late heartbeat would terminate a live node`,
    );
  }
  return {
    intervalMs: intervalSecs * 1000,
    timeoutMs: timeoutSecs * 1000,
    agentRetryMaxDelayMs: config.agentRetryMaxDelaySecs * 1000,
    graceMs: (timeoutSecs + config.agentRetryMaxDelaySecs) * 1000,
    overdueAfterMs: Math.round((timeoutSecs * 1000 + config.flushIntervalMs) / 2),
    lateThresholdMs: config.sweepLateThresholdMs,
    duplicateWindowMs: (config.duplicateIdentityWindowSecs || Math.ceil(1.5 * intervalSecs)) * 1000,
    massSilence: {
      enabled: config.massSilenceGuard,
      threshold: config.massSilenceThreshold,
      minNodes: config.massSilenceMinNodes,
      maxHoldMs: (config.massSilenceMaxHoldSecs || 10 * timeoutSecs) * 1000,
    },
  };
}

/** A cluster's settings: its own when configured under `clusters`, else the global ones. */
export function settingsOfCluster(settings: TimeoutSettings, clusterName: string | undefined): TimeoutSettings {
  return (clusterName === undefined ? undefined : settings.clusters?.get(clusterName)) ?? settings;
}

/** Every distinct settings in force: the global ones and each configured cluster's. */
export function allSettings(settings: TimeoutSettings): TimeoutSettings[] {
  return [settings, ...(settings.clusters?.values() ?? [])];
}

/**
 * Warnings worth logging at start: a timeout under three intervals tolerates only one lost
 * heartbeat; one not longer than two intervals plus a flush leaves the mass-silence guard no
 * margin to tell a live node from a cut one before the first cut node expires. For the global
 * settings and each cluster's own.
 */
export function timeoutWarnings(settings: TimeoutSettings, flushIntervalMs: number): string[] {
  return [
    ...oneSettingsWarnings(settings, flushIntervalMs, ''),
    ...[...(settings.clusters ?? [])].flatMap(([name, own]) => oneSettingsWarnings(own, flushIntervalMs, `cluster ${name}: `)),
  ];
}

function oneSettingsWarnings(settings: TimeoutSettings, flushIntervalMs: number, prefix: string): string[] {
  const warnings: string[] = [];
  const secs = settings.timeoutMs / 1000;
  if (settings.timeoutMs < 3 * settings.intervalMs) {
    warnings.push(`${prefix}heartbeatTimeout ${secs}s is under three heartbeat intervals: two late heartbeats terminate a live node`);
  }
  if (settings.massSilence.enabled && settings.timeoutMs <= 2 * settings.intervalMs + flushIntervalMs) {
    warnings.push(
      `${prefix}heartbeatTimeout ${secs}s is not longer than two intervals plus a heartbeat flush: the mass-silence guard may let the first nodes of a network cut be timed out before it holds`,
    );
  }
  return warnings;
}
