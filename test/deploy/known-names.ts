/**
 * What each daemon really reads, from the schemas that validate its settings: the NODEPULSE_*
 * variables and the flags of `agent run` and `coordinator serve`. The deployment files (the
 * Dockerfile, compose.yaml, deploy/kubernetes/) may name nothing else, so a renamed or
 * misspelled variable fails a test instead of being ignored by the daemon at run time.
 */
import { AgentConfigSchema, ENROLL_TOKEN_ENV_NAMES } from '../../src/agent/config.ts';
import { knownEnv } from '../../src/cli/known-env.ts';
import { COORDINATOR_ENV_NAMES, CoordinatorConfigSchema } from '../../src/coordinator/config.ts';
import { CONFIG_FILE_ENV, envName, flagName } from '../../src/shared/config-loader.ts';

export type Daemon = 'agent' | 'coordinator';

/** The agent's keys by their environment names; the enrollment token's are its own (not NODEPULSE_TOKEN, the old name). */
const AGENT_ENV_NAMES = Object.keys(AgentConfigSchema.properties).map((key) => ENROLL_TOKEN_ENV_NAMES[key as keyof typeof ENROLL_TOKEN_ENV_NAMES] ?? envName(key));

const ENV_NAMES: Record<Daemon, ReadonlySet<string>> = {
  agent: new Set([...AGENT_ENV_NAMES, CONFIG_FILE_ENV]),
  coordinator: new Set(COORDINATOR_ENV_NAMES),
};

const FLAGS: Record<Daemon, ReadonlySet<string>> = {
  agent: new Set(['--config', ...Object.keys(AgentConfigSchema.properties).map((key) => `--${flagName(key)}`)]),
  coordinator: new Set(['--config', ...Object.keys(CoordinatorConfigSchema.properties).map((key) => `--${flagName(key)}`)]),
};

/** The NODEPULSE_* names among `names` that the daemon does not read (nor the daemons' unknown-variable check knows). */
export function unknownEnv(daemon: Daemon, names: Iterable<string>): string[] {
  const everyKnown = knownEnv();
  return [...names].filter((name) => name.startsWith('NODEPULSE_') && !(ENV_NAMES[daemon].has(name) && everyKnown.names.has(name)));
}

/** The NODEPULSE_* names among `names` (in prose, say) that neither daemon reads. */
export function readByNeither(names: Iterable<string>): string[] {
  return [...names].filter((name) => unknownEnv('agent', [name]).length > 0 && unknownEnv('coordinator', [name]).length > 0);
}

/** The --flags among `words` that the daemon's command does not take (values and other words are skipped). */
export function unknownFlags(daemon: Daemon, words: Iterable<string>): string[] {
  return [...words].filter((word) => word.startsWith('--')).filter((word) => !FLAGS[daemon].has(word.split('=')[0]!));
}

/** The coordinator's settings schema, for defaults the images rely on (port, store). */
export const COORDINATOR_DEFAULTS = {
  port: CoordinatorConfigSchema.properties.port.default as number,
  store: CoordinatorConfigSchema.properties.store.default as string,
};

export const AGENT_DEFAULTS = {
  deregisterTimeoutSecs: AgentConfigSchema.properties.deregisterTimeout.default as number,
  stateDir: AgentConfigSchema.properties.stateDir.default as string,
};
