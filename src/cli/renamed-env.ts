/**
 * Environment variables renamed so that each meaning has one name: NODEPULSE_TOKEN used to be
 * both the agent's enrollment token and the operator commands' token, and the coordinator's URL
 * was NODEPULSE_COORDINATOR for the agent but NODEPULSE_COORDINATOR_URL for the operator
 * commands. An old name is still read for one release, only when the new one is unset, with a
 * one-line warning that names the new one (never the value: it may be a secret).
 */
export interface RenamedEnv {
  old: string;
  current: string;
}

/** The agent's commands (`agent run|facts|check|status`): the enrollment token, as the coordinator names the one it installs. */
export const AGENT_RENAMED_ENV: readonly RenamedEnv[] = [
  { old: 'NODEPULSE_TOKEN', current: 'NODEPULSE_ENROLL_TOKEN' },
  { old: 'NODEPULSE_TOKEN_FILE', current: 'NODEPULSE_ENROLL_TOKEN_FILE' },
];

/** The operator commands over the HTTP API (`nodes`, `instances`, `clusters list`, `events`). */
export const OPERATOR_RENAMED_ENV: readonly RenamedEnv[] = [
  { old: 'NODEPULSE_TOKEN', current: 'NODEPULSE_API_TOKEN' },
  { old: 'NODEPULSE_COORDINATOR_URL', current: 'NODEPULSE_COORDINATOR' },
];

/** Every old name, still known (not reported as misspelled) while it is read. */
export const OLD_ENV_NAMES: readonly string[] = [...new Set([...AGENT_RENAMED_ENV, ...OPERATOR_RENAMED_ENV].map((renamed) => renamed.old))];

/** One line per old name set in `env`: what to call it now. */
export function renamedEnvWarnings(env: NodeJS.ProcessEnv, renames: readonly RenamedEnv[]): string[] {
  return renames
    .filter(({ old }) => env[old] !== undefined && env[old] !== '')
    .map(({ old, current }) =>
      env[current]
        ? `${old} is ignored: ${current} is set (${old} is the old name; remove it)`
        : `${old} is renamed ${current}; the old name is still read in this release (rename it)`,
    );
}

/** `env` with each renamed variable under its current name when only the old one is set. */
export function withCurrentEnvNames(env: NodeJS.ProcessEnv, renames: readonly RenamedEnv[]): NodeJS.ProcessEnv {
  const adopted = { ...env };
  for (const { old, current } of renames) {
    if (!env[current] && env[old]) adopted[current] = env[old];
  }
  return adopted;
}

/** Writes the warnings of renamedEnvWarnings to stderr, once per process and old name. */
const warned = new Set<string>();
export function warnAboutRenamedEnv(env: NodeJS.ProcessEnv, renames: readonly RenamedEnv[], out: NodeJS.WritableStream = process.stderr): void {
  for (const line of renamedEnvWarnings(env, renames)) {
    if (warned.has(line)) continue;
    warned.add(line);
    out.write(`nodepulse: warning: ${line}\n`);
  }
}
