import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NODEPULSE_BIN, REPO_ROOT } from '../../test/helpers/spawn-process.ts';

/** How a nodepulse daemon is started for a benchmark: compiled JS when a fresh build exists, else tsx. */
export interface Runtime {
  kind: 'compiled' | 'tsx';
  /** `node` arguments before the CLI's own arguments. */
  args: string[];
  describe: string;
}

const DIST_MAIN = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const AGENT_UNIT = join(REPO_ROOT, 'systemd', 'nodepulse-agent.service');
/** Where the units expect the project (systemd/*.service); mapped to this checkout. */
const INSTALL_ROOT = '/opt/nodepulse/';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let chosen: Runtime | undefined;

/** Builds first when asked (full runs); uses dist/ only when it is newer than every source file. */
export function daemonRuntime(options: { build: boolean; log: (message: string) => void }): Runtime {
  if (chosen) return chosen;
  if (options.build) {
    options.log('building dist/ (npm run build: tsc, then the agent bundle) so the daemons run as compiled JS');
    const result = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
    if (result.status !== 0) options.log('build failed: falling back to tsx');
  }
  const fresh = isFresh(DIST_MAIN);
  chosen = fresh
    ? { kind: 'compiled', args: [DIST_MAIN], describe: 'compiled JS (node dist/cli/main.js)' }
    : { kind: 'tsx', args: [NODEPULSE_BIN], describe: 'TypeScript through tsx (bin/nodepulse; no fresh build): RSS is about 27 MiB higher than compiled' };
  return chosen;
}

function isFresh(file: string): boolean {
  return existsSync(file) && statSync(file).mtimeMs >= newestMtime(join(REPO_ROOT, 'src'));
}

/** The node flags and script of an ExecStart= line, with the install root mapped to `root` (this checkout). */
export function execStartCommand(unitText: string, root: string = REPO_ROOT): { nodeArgs: string[]; script: string } {
  const words = /^ExecStart=(.*)$/m.exec(unitText)?.[1]?.trim().split(/\s+/).slice(1) ?? [];
  const at = words.findIndex((word) => /\.m?js$/.test(word));
  const script = words[at];
  if (script === undefined) throw new Error('no node script in the ExecStart= line');
  return { nodeArgs: words.slice(0, at), script: script.startsWith(INSTALL_ROOT) ? join(root, script.slice(INSTALL_ROOT.length)) : script };
}

/**
 * `nodepulse agent run` exactly as systemd/nodepulse-agent.service starts it (node flags and
 * compiled entry), when that entry was built from the current sources; else through tsx.
 */
export function agentRuntime(): Runtime {
  const { nodeArgs, script } = execStartCommand(readFileSync(AGENT_UNIT, 'utf8'));
  if (isFresh(script)) {
    const shown = ['node', ...nodeArgs, script.slice(REPO_ROOT.length + 1)].join(' ');
    return { kind: 'compiled', args: [...nodeArgs, script], describe: `the production command of systemd/nodepulse-agent.service (${shown})` };
  }
  return { kind: 'tsx', args: [NODEPULSE_BIN], describe: `TypeScript through tsx (bin/nodepulse; ${script.slice(REPO_ROOT.length + 1)} missing or older than src/)` };
}

/** Forget the choice (tests). */
export function resetRuntime(): void {
  chosen = undefined;
}
