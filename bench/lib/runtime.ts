import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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
    options.log('building dist/ (tsc -p tsconfig.build.json) so the daemons run as compiled JS');
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    });
    if (result.status !== 0) options.log('build failed: falling back to tsx');
  }
  const fresh = existsSync(DIST_MAIN) && statSync(DIST_MAIN).mtimeMs >= newestMtime(join(REPO_ROOT, 'src'));
  chosen = fresh
    ? { kind: 'compiled', args: [DIST_MAIN], describe: 'compiled JS (node dist/cli/main.js)' }
    : { kind: 'tsx', args: [NODEPULSE_BIN], describe: 'TypeScript through tsx (bin/nodepulse; no fresh build): RSS is about 27 MiB higher than compiled' };
  return chosen;
}

/** Forget the choice (tests). */
export function resetRuntime(): void {
  chosen = undefined;
}
