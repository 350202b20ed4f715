import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../shared/errors.ts';
import { LOG_LEVELS } from '../shared/logger.ts';

/**
 * Every coordinator setting with its default. The same keys work in the config file (camelCase),
 * as NODEPULSE_* environment variables and as --kebab-case flags. config/coordinator.example.yaml
 * documents each key.
 */
export const CoordinatorConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', minLength: 1 }),
    port: Type.Integer({ default: 8420, minimum: 0, maximum: 65535 }),
    /** A SQLite file path, or a postgres:// URL. */
    store: Type.String({ default: './data/nodepulse.db', minLength: 1 }),
    storePoolSize: Type.Integer({ default: 10, minimum: 1, maximum: 200 }),
    logLevel: Type.Union(LOG_LEVELS.map((level) => Type.Literal(level)), { default: 'info' }),
    heartbeatInterval: Type.Integer({ default: 10, minimum: 1, maximum: 3600 }),
    /** 0 means the default: 3 intervals + 5 s of grace. */
    heartbeatTimeout: Type.Integer({ default: 0, minimum: 0, maximum: 86_400 }),
    sweepSchedule: Type.String({ default: '* * * * * *', minLength: 1 }),
    /** Heartbeat timestamps are written to the store in batches at most this often. */
    flushIntervalMs: Type.Integer({ default: 1000, minimum: 1000, maximum: 60_000 }),
    /** A sweep tick later than this skips its terminations: its view of "silent" is unreliable. */
    sweepLateThresholdMs: Type.Integer({ default: 2000, minimum: 100, maximum: 600_000 }),
    massSilenceGuard: Type.Boolean({ default: true }),
    massSilenceThreshold: Type.Number({ default: 0.5, exclusiveMinimum: 0, maximum: 1 }),
    massSilenceMinNodes: Type.Integer({ default: 3, minimum: 1 }),
    /** After this long a held mass termination goes ahead anyway (0 = 10 timeouts). */
    massSilenceMaxHoldSecs: Type.Integer({ default: 0, minimum: 0 }),
    /** A new registration of an instance is refused as a clone while the old node heartbeated this recently. */
    duplicateIdentityWindowSecs: Type.Integer({ default: 0, minimum: 0 }),
    bodyLimitBytes: Type.Integer({ default: 65_536, minimum: 1024, maximum: 16_777_216 }),
    /** How long a looked-up admin/reader/enroll token is trusted before the store is asked again. */
    tokenCacheSecs: Type.Integer({ default: 10, minimum: 0, maximum: 3600 }),
    monitorSchedule: Type.String({ default: '*/10 * * * * *', minLength: 1 }),
    /** At most 72 h (seed 004's retention), so a keepalive comes before the previous event expires. */
    monitorKeepaliveSecs: Type.Integer({ default: 600, minimum: 10, maximum: 259_200 }),
    healthCheckTimeoutSecs: Type.Integer({ default: 300, minimum: 5 }),
  },
  { additionalProperties: false },
);

export type CoordinatorConfig = Static<typeof CoordinatorConfigSchema>;

/**
 * Environment aliases: NODEPULSE_STORE_URL names the store like NODEPULSE_STORE (the usual
 * spelling for a connection string); NODEPULSE_STORE wins when both are set.
 */
export function withEnvAliases(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!env.NODEPULSE_STORE && env.NODEPULSE_STORE_URL) return { ...env, NODEPULSE_STORE: env.NODEPULSE_STORE_URL };
  return env;
}

/** The timeout rules, resolved from the config once. */
export interface TimeoutSettings {
  intervalMs: number;
  timeoutMs: number;
  lateThresholdMs: number;
  duplicateWindowMs: number;
  massSilence: { enabled: boolean; threshold: number; minNodes: number; maxHoldMs: number };
}

export const DEFAULT_TIMEOUT_GRACE_SECS = 5;

export function resolveTimeouts(config: CoordinatorConfig): TimeoutSettings {
  const intervalSecs = config.heartbeatInterval;
  const timeoutSecs = config.heartbeatTimeout || 3 * intervalSecs + DEFAULT_TIMEOUT_GRACE_SECS;
  if (timeoutSecs < 2 * intervalSecs) {
    throw new ConfigError([
      `heartbeatTimeout: ${timeoutSecs}s is shorter than two heartbeat intervals (${2 * intervalSecs}s); one late heartbeat would terminate a live node`,
    ]);
  }
  return {
    intervalMs: intervalSecs * 1000,
    timeoutMs: timeoutSecs * 1000,
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

/** A warning worth logging at start: a timeout under three intervals tolerates only one lost heartbeat. */
export function timeoutWarning(settings: TimeoutSettings): string | undefined {
  return settings.timeoutMs < 3 * settings.intervalMs
    ? `heartbeatTimeout ${settings.timeoutMs / 1000}s is under three heartbeat intervals: two late heartbeats terminate a live node`
    : undefined;
}
