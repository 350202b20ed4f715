import { AgentConfigSchema } from '../agent/config.ts';
import { COORDINATOR_ENV_NAMES } from '../coordinator/config.ts';
import { type KnownEnv, envNamesOf } from '../shared/config-loader.ts';

/** Read by the agent outside its config schema: the boot id override (agent/identity.ts). */
const AGENT_EXTRA_NAMES = ['NODEPULSE_BOOT_ID'];
/** Fault injection for tests and drills (agent/main.ts: NODEPULSE_FAULT_HANG_COLLECTOR). */
const FAULT_PREFIX = 'NODEPULSE_FAULT_';
/** The operator commands' defaults (cli/operator-commands.ts). */
const OPERATOR_NAMES = ['NODEPULSE_COORDINATOR_URL', 'NODEPULSE_TOKEN'];

/**
 * Every NODEPULSE_* variable some part of nodepulse reads. The agent and the coordinator share
 * the prefix and often one environment, so a daemon warns only about a name that neither knows.
 */
export function knownEnv(): KnownEnv {
  return {
    names: new Set([...COORDINATOR_ENV_NAMES, ...envNamesOf(AgentConfigSchema), ...AGENT_EXTRA_NAMES, ...OPERATOR_NAMES]),
    prefixes: [FAULT_PREFIX],
  };
}
