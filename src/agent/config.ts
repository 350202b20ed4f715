/**
 * The agent's configuration schema: defaults live here; layering (file < NODEPULSE_* env <
 * flags) is the shared loadConfig. Keys are camelCase in the file, NODEPULSE_UPPER_SNAKE in the
 * environment, kebab-case as flags. config/agent.example.yaml documents every key.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../shared/errors.ts';
import { LOG_LEVELS } from '../shared/logger.ts';
import { HOSTNAME_MAX_LENGTH } from '../shared/protocol.ts';
import { envName, loadConfig, type ConfigSources } from '../shared/config-loader.ts';

/** A duration: seconds, fractions allowed (the rule of both daemons: seconds unless a key ends in Ms); its description says "Seconds". */
const Secs = (def: number, min: number, max: number, description: `Seconds ${string}`) =>
  Type.Number({ default: def, minimum: min, maximum: max, description });
const CheckBase = {
  name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
  /** Run every N seconds (default 30), unless `cron` is given. */
  interval: Type.Optional(Type.Number({ minimum: 0.1, maximum: 86_400 })),
  /** A cron expression (node-cron syntax, seconds field optional). */
  cron: Type.Optional(Type.String({ minLength: 1, format: 'cron' })),
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

/**
 * Every agent setting with its default and a one-line description (the flag's help). Lists and
 * maps (labels, diskMounts, checks) take JSON in the environment and as flags.
 */
export const AgentConfigSchema = Type.Object({
  coordinator: Type.Optional(Type.String({ pattern: '^https?://', description: 'Coordinator URL, e.g. http://coordinator:8420 (required by agent run)' })),
  token: Type.Optional(Type.String({ minLength: 1, description: 'Enrollment token (prefer NODEPULSE_ENROLL_TOKEN or --token-file: flags show in ps)' })),
  tokenFile: Type.Optional(Type.String({ minLength: 1, description: 'File whose first line is the enrollment token (re-read at every registration; or NODEPULSE_ENROLL_TOKEN_FILE)' })),
  caFile: Type.Optional(Type.String({ minLength: 1, description: 'CA bundle (PEM) for an https coordinator' })),
  tlsCert: Type.Optional(
    Type.String({ minLength: 1, description: 'Client certificate (PEM, with its chain) for a coordinator that requires one (mutual TLS): with tlsKey' }),
  ),
  tlsKey: Type.Optional(Type.String({ minLength: 1, description: 'Private key (PEM) of tlsCert' })),
  cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Cluster to join (with an admin token; an enroll token implies its cluster)' })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: HOSTNAME_MAX_LENGTH, description: 'Node name (default: the hostname)' })),
  hostname: Type.Optional(
    Type.String({ minLength: 1, maxLength: HOSTNAME_MAX_LENGTH, description: "Hostname to register as (default: the host's; a second agent on one host needs its own)" }),
  ),
  identity: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Override the persistent identity (e.g. a StatefulSet pod name)' })),
  stateDir: Type.String({ default: '/var/lib/nodepulse-agent', minLength: 1, description: 'Directory of the persistent identity and the status file' }),
  statusListen: Type.Optional(
    Type.String({
      pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^:\\[\\]]+):[0-9]{1,5}$',
      description: 'Serve GET /healthz and /status on HOST:PORT, e.g. 127.0.0.1:8421 (off by default; keep it on loopback)',
    }),
  ),
  labels: Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.String({ maxLength: 256 }), {
    default: {},
    maxProperties: 64,
    description: 'Labels, a JSON object of strings, e.g. \'{"zone":"a"}\'',
  }),
  advertiseAddress: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Address to report instead of the detected primary IPv4' })),
  logLevel: Type.Union(
    LOG_LEVELS.map((level) => Type.Literal(level)),
    { default: 'info', description: 'error, warn, info or debug (debug logs every request)' },
  ),
  heartbeatInterval: Secs(15, 0.1, 3_600, "Seconds between heartbeats (the coordinator's interval wins)"),
  startupDelay: Type.Optional(
    Type.Number({ minimum: 0, maximum: 3_600, description: 'Seconds to wait at most before the first registration (default: one heartbeatInterval; 0: at once)' }),
  ),
  requestTimeout: Secs(5, 0.1, 300, 'Seconds each request to the coordinator may take'),
  // The whole shutdown, a beat in flight and then the deregistration: systemd and Kubernetes wait no longer than they must.
  deregisterTimeout: Secs(1.5, 0.1, 300, 'Seconds the whole shutdown on SIGTERM/SIGINT may take'),
  retryBaseDelay: Secs(0.5, 0.01, 60, 'Seconds of the first backoff after a network error, 5xx or 429'),
  retryMaxDelay: Secs(30, 0.1, 3_600, "Seconds of the longest backoff (the coordinator's retryMaxDelaySecs wins once registered)"),
  authRetryDelay: Secs(60, 0.1, 86_400, 'Seconds of the slow retry after 401/403 or a refused identity'),
  factsRefreshInterval: Secs(300, 1, 86_400, 'Seconds between refreshes of the slower facts (address, cpu busy share, disks)'),
  memoryRefreshInterval: Secs(15, 0.1, 86_400, 'Seconds between refreshes of memory and cgroup limits'),
  collectorTimeout: Secs(10, 0.01, 600, 'Seconds each facts collector may take'),
  diskMounts: Type.Array(Type.String({ minLength: 1 }), { default: ['/'], description: 'Mount points whose free space is reported, a JSON list' }),
  forksPerCpu: Type.Number({ default: 4, exclusiveMinimum: 0, description: 'Capacity: forks per cpu' }),
  memPerForkMib: Type.Number({ default: 100, exclusiveMinimum: 0, description: 'Capacity: MiB of memory per fork' }),
  memReservedMib: Type.Number({ default: 2048, minimum: 0, description: 'Capacity: MiB of memory kept out of the formula' }),
  cpuOverride: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Cpus to report instead of the detected ones' })),
  memoryOverrideMib: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Memory (MiB) to report instead of the detected' })),
  cgroupRoot: Type.String({ default: '/sys/fs/cgroup', description: 'Root of the cgroup filesystem whose limits apply' }),
  checks: Type.Array(CheckConfig, { default: [], description: 'Health checks, a JSON list (config/agent.example.yaml shows each type)' }),
  checkOutputLimit: Type.Integer({ default: 1024, minimum: 64, maximum: 4096, description: "Characters of a check's output sent to the coordinator" }),
});
export type AgentConfig = Readonly<Static<typeof AgentConfigSchema>>;

/**
 * The environment names of the enrollment token and its file: the names the keys would get
 * (NODEPULSE_TOKEN, NODEPULSE_TOKEN_FILE) did not tell the agent's token from the operator
 * commands' (NODEPULSE_API_TOKEN). The coordinator installs NODEPULSE_ENROLL_TOKEN as its
 * bootstrap enroll token: one name for one meaning. The old names are still read for one release
 * when these are unset (the CLI warns: cli/renamed-env.ts).
 */
export const ENROLL_TOKEN_ENV_NAMES = { token: 'NODEPULSE_ENROLL_TOKEN', tokenFile: 'NODEPULSE_ENROLL_TOKEN_FILE' } as const;

function withEnrollTokenNames(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const named = { ...env };
  for (const [key, name] of Object.entries(ENROLL_TOKEN_ENV_NAMES)) {
    if (env[name]) named[envName(key)] = env[name];
  }
  return named;
}

/** Loads and validates; throws ConfigError listing every problem (the command exits 78). */
export function loadAgentConfig(sources: ConfigSources): AgentConfig {
  const config = loadConfig(AgentConfigSchema, { ...sources, env: withEnrollTokenNames(sources.env ?? {}) });
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
  });
  return problems;
}

/** The settings `agent run` needs beyond the others; missing ones are config errors. */
export function requireRunSettings(config: AgentConfig): { coordinator: string } {
  const problems: string[] = [];
  if (!config.coordinator) problems.push('coordinator: required (--coordinator URL or NODEPULSE_COORDINATOR)');
  if (!config.token && !config.tokenFile) problems.push('token: required (NODEPULSE_ENROLL_TOKEN, NODEPULSE_ENROLL_TOKEN_FILE, --token-file or --token)');
  if (problems.length > 0) throw new ConfigError(problems);
  return { coordinator: config.coordinator as string };
}
