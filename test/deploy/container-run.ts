/**
 * A Dockerfile stage's container without a container engine: its start command runs as PID 1
 * of a new PID namespace (`unshare --pid --fork --mount-proc`; as root, else in a user
 * namespace too), in its WORKDIR under a directory that stands for the image's root, with its
 * ENV. PID 1 gets no default signal actions from the kernel: a daemon that does not handle
 * SIGTERM itself would ignore it here, as in a container. The HEALTHCHECK runs as Docker runs
 * it: the same command, with the container's environment.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type SpawnedProcess, spawnProcess, waitFor } from '../helpers/spawn-process.ts';
import { type Stage, nodeCommand, startCommand } from './dockerfile.ts';

/** unshare needs root for a PID namespace; anyone else maps themselves to root in a user namespace. */
const UNSHARE = ['--pid', '--fork', '--mount-proc', ...(process.getuid?.() === 0 ? [] : ['--map-root-user'])];

export function startContainer(stage: Stage, root: string, env: Record<string, string>): SpawnedProcess {
  const { nodeArgs, args } = nodeCommand(stage);
  const [, ...words] = startCommand(stage);
  // The script as written (relative to WORKDIR, or absolute in the image, so under `root` here).
  const written = words[nodeArgs.length]!;
  const scriptArg = isAbsolute(written) ? join(root, written) : written;
  return spawnProcess('unshare', [...UNSHARE, '--', process.execPath, ...nodeArgs, scriptArg, ...args], {
    name: `${stage.name} as PID 1`,
    cwd: join(root, stage.workdir),
    env: { ...stage.env, ...env },
  });
}

/** The container's main process as seen from here, once unshare has forked it; checks it is PID 1 inside. */
export async function containerPid(container: SpawnedProcess): Promise<number> {
  const pid = await waitFor(() => {
    const children = readFileSync(`/proc/${container.pid}/task/${container.pid}/children`, 'utf8').trim();
    return children ? Number(children.split(/\s+/)[0]) : undefined;
  }, 10_000);
  const nspid = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^NSpid:\s+(.*)$/m)?.[1]?.trim().split(/\s+/);
  if (nspid?.at(-1) !== '1') throw new Error(`pid ${pid} is ${nspid?.at(-1)} in its namespace, not 1`);
  return pid;
}

/** The stage's HEALTHCHECK command's exit code, run with the container's environment. */
export function runHealthcheck(stage: Stage, env: Record<string, string>): Promise<number | null> {
  const [program, ...args] = stage.healthcheck?.command ?? [];
  if (program !== 'node') throw new Error(`Dockerfile: the HEALTHCHECK of ${stage.name} runs ${program}, not node`);
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...stage.env, ...env }, stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}
