/**
 * Free and total bytes of the configured mount points with `statfs(2)` (on libuv's thread pool,
 * so a hung mount never blocks the event loop) instead of `si.fsSize()`, which runs `df` and
 * more for every file system of the host.
 */
import { readFile, statfs } from 'node:fs/promises';

export interface DiskFigures {
  mount: string;
  freeBytes: number;
  totalBytes: number;
}

export interface DiskDeps {
  /** Contents of /proc/self/mountinfo; rejects where there is none. */
  mountInfo: () => Promise<string>;
  statfs: (path: string) => Promise<{ bsize: number; blocks: number; bavail: number }>;
}

const systemDeps: DiskDeps = {
  mountInfo: () => readFile('/proc/self/mountinfo', 'utf8'),
  statfs: (path) => statfs(path),
};

/** The mount points of mountinfo (the fifth field, with the kernel's octal escapes such as `\040`). */
export function parseMountPoints(text: string): Set<string> {
  const points = new Set<string>();
  for (const line of text.split('\n')) {
    const point = line.split(' ')[4];
    if (point) points.add(point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))));
  }
  return points;
}

/**
 * Figures for each of `mounts` that is a mount point (a plain directory would report its parent
 * file system under the wrong name); free = available to unprivileged users, as `df` shows it.
 */
export async function diskFigures(mounts: readonly string[], deps: DiskDeps = systemDeps): Promise<DiskFigures[]> {
  const points = await deps.mountInfo().then(parseMountPoints, () => undefined);
  const present = points ? mounts.filter((mount) => points.has(mount)) : mounts;
  return Promise.all(
    present.map(async (mount) => {
      const fs = await deps.statfs(mount);
      return { mount, freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
    }),
  );
}
