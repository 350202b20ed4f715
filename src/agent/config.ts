/**
 * The agent's configuration schema: defaults live here; layering (file < NODEPULSE_* env <
 * flags) is the shared loadConfig. Keys are camelCase in the file, NODEPULSE_UPPER_SNAKE in the
 * environment, kebab-case as flags. config/agent.example.yaml documents every key.
 */
import { type Static, Type } from '@sinclair/typebox';
import { validate as validateCron } from 'node-cron';
import { ConfigError } from '../shared/errors.ts';
import { HOSTNAME_MAX_LENGTH } from '../shared/protocol.ts';
import { loadConfig, type ConfigSources } from '../shared/config-loader.ts';

const Secs = (def: number, min = 0.01, max = 86_400) => Type.Number({ default: def, minimum: min, maximum: max });
const CheckBase = {
  name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
  /** Run every N seconds (default 30), unless `cron` is given. */
  interval: Type.Optional(Type.Number({ minimum: 0.1, maximum: 86_400 })),
  /** A cron expression (node-cron syntax, seconds field optional). */
  cron: Type.Optional(Type.String({ minLength: 1 })),
  /** Seconds before the check counts as critical (default 10). */
  timeout: Type.Optional(Type.Number({ minimum: 0.01, maximum: 3_600 })),
};

export const HttpCheck = Type.Object({ ...CheckBase, type: Type.Literal('http'), url: Type.String({ pattern: '^https?://' }), expectedStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })) }, { additionalProperties: false });
export const TcpCheck = Type.Object({ ...CheckBase, type: Type.Literal('tcp'), host: Type.String({ minLength: 1 }), port: Type.Integer({ minimum: 1, maximum: 65_535 }) }, { additionalProperties: false });
export const CommandCheck = Type.Object({ ...CheckBase, type: Type.Literal('command'), command: Type.Array(Type.String(), { minItems: 1 }) }, { additionalProperties: false });
export const DiskCheck = Type.Object(
  {
    ...CheckBase,
    type: Type.Literal('disk'),
    path: Type.String({ minLength: 1 }),
    /** Critical below this share of free space (percent). */
    minFreePercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Warning below this share of free space (percent). */
    warnFreePercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    minFreeBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export const MemoryCheck = Type.Object(
  {
    ...CheckBase,
    type: Type.Literal('memory'),
    minAvailablePercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    warnAvailablePercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    minAvailableBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export const CheckConfig = Type.Union([HttpCheck, TcpCheck, CommandCheck, DiskCheck, MemoryCheck]);
export type CheckConfig = Static<typeof CheckConfig>;

export const AgentConfigSchema = Type.Object({
  coordinator: Type.Optional(Type.String({ pattern: '^https?://' })),
  token: Type.Optional(Type.String({ minLength: 1 })),
  tokenFile: Type.Optional(Type.String({ minLength: 1 })),
  caFile: Type.Optional(Type.String({ minLength: 1 })),
  /** Client certificate (PEM, with its chain) and its key, for a coordinator that requires one (mutual TLS): both or neither. */
  tlsCert: Type.Optional(Type.String({ minLength: 1 })),
  tlsKey: Type.Optional(Type.String({ minLength: 1 })),
  cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: HOSTNAME_MAX_LENGTH })),
  /** The hostname to register as (default: the host's); a second agent on one host needs its own. */
  hostname: Type.Optional(Type.String({ minLength: 1, maxLength: HOSTNAME_MAX_LENGTH })),
  identity: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  stateDir: Type.String({ default: '/var/lib/nodepulse-agent', minLength: 1 }),
  labels: Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.String({ maxLength: 256 }), { default: {}, maxProperties: 64 }),
  advertiseAddress: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  logLevel: Type.Union([Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug')], { default: 'info' }),
  heartbeatInterval: Secs(15, 0.1, 3_600),
  /** Upper bound of the wait before the first registration (default: one heartbeatInterval); 0 registers at once. */
  startupDelay: Type.Optional(Type.Number({ minimum: 0, maximum: 3_600 })),
  requestTimeout: Secs(5, 0.1, 300),
  /** The whole shutdown on SIGTERM/SIGINT (a beat in flight, then the deregistration): systemd and Kubernetes wait no longer than they must. */
  deregisterTimeout: Secs(1.5, 0.1, 300),
  retryBaseDelay: Secs(0.5, 0.01, 60),
  retryMaxDelay: Secs(30, 0.1, 3_600),
  authRetryDelay: Secs(60, 0.1, 86_400),
  factsRefreshInterval: Secs(300, 1),
  memoryRefreshInterval: Secs(15, 0.1),
  collectorTimeout: Secs(10, 0.01, 600),
  diskMounts: Type.Array(Type.String({ minLength: 1 }), { default: ['/'] }),
  forksPerCpu: Type.Number({ default: 4, exclusiveMinimum: 0 }),
  memPerForkMib: Type.Number({ default: 100, exclusiveMinimum: 0 }),
  memReservedMib: Type.Number({ default: 2048, minimum: 0 }),
  cpuOverride: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  memoryOverrideMib: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  cgroupRoot: Type.String({ default: '/sys/fs/cgroup' }),
  checks: Type.Array(CheckConfig, { default: [] }),
  checkOutputLimit: Type.Integer({ default: 1024, minimum: 64, maximum: 4096 }),
});
export type AgentConfig = Readonly<Static<typeof AgentConfigSchema>>;

/** Loads and validates; throws ConfigError listing every problem (the command exits 78). */
export function loadAgentConfig(sources: ConfigSources): AgentConfig {
  const config = loadConfig(AgentConfigSchema, sources);
  const problems = checkProblems(config.checks);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function checkProblems(checks: readonly CheckConfig[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  checks.forEach((check, i) => {
    if (names.has(check.name)) problems.push(`checks.${i}.name: duplicate check name "${check.name}"`);
    names.add(check.name);
    if (check.interval !== undefined && check.cron !== undefined) problems.push(`checks.${i}: give either interval or cron, not both`);
    if (check.cron !== undefined && !validateCron(check.cron)) problems.push(`checks.${i}.cron: invalid cron expression "${check.cron}"`);
  });
  return problems;
}

/** The settings `agent run` needs beyond the others; missing ones are config errors. */
export function requireRunSettings(config: AgentConfig): { coordinator: string } {
  const problems: string[] = [];
  if (!config.coordinator) problems.push('coordinator: required (--coordinator URL or NODEPULSE_COORDINATOR)');
  if (!config.token && !config.tokenFile) problems.push('token: required (NODEPULSE_TOKEN, --token-file or --token)');
  if (problems.length > 0) throw new ConfigError(problems);
  return { coordinator: config.coordinator as string };
}
