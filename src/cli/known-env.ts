import { AgentConfigSchema, ENROLL_TOKEN_ENV_NAMES } from '../agent/config.ts';
import { COORDINATOR_ENV_NAMES } from '../coordinator/config.ts';
import { type KnownEnv, envNamesOf } from '../shared/config-loader.ts';
import { OLD_ENV_NAMES } from './renamed-env.ts';

/** Read by the agent outside its config schema: the boot id override (agent/identity.ts). */
const AGENT_EXTRA_NAMES = ['NODEPULSE_BOOT_ID'];
/** Fault injection for tests and drills (agent/main.ts: NODEPULSE_FAULT_HANG_COLLECTOR). */
const FAULT_PREFIX = 'NODEPULSE_FAULT_';
/** The operator commands' defaults (cli/operator-commands.ts; NODEPULSE_COORDINATOR is the agent's too). */
const OPERATOR_NAMES = ['NODEPULSE_COORDINATOR', 'NODEPULSE_API_TOKEN'];

/**
 * Every NODEPULSE_* variable some part of nodepulse reads. The agent and the coordinator share
 * the prefix and often one environment, so a daemon warns only about a name that neither knows.
 */
export function knownEnv(): KnownEnv {
  return {
    names: new Set([
      ...COORDINATOR_ENV_NAMES,
      ...envNamesOf(AgentConfigSchema),
      ...Object.values(ENROLL_TOKEN_ENV_NAMES),
      ...AGENT_EXTRA_NAMES,
      ...OPERATOR_NAMES,
      // Still read for one release, with a warning that names the new name (renamed-env.ts).
      ...OLD_ENV_NAMES,
    ]),
    prefixes: [FAULT_PREFIX],
  };
}
