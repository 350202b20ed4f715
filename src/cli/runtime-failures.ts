import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EXIT_CANTCREAT, EXIT_CONFIG, FixableError } from '../shared/errors.ts';

/**
 * The failures at start that only the operator can fix, told in one line that names what to
 * change (the address and the setting that chooses it; the store's path and why it cannot be
 * opened) instead of the system's own words (`listen EADDRINUSE`, `unable to open database file`).
 * Anything else is left as it is.
 */

interface SystemError {
  code?: string;
  syscall?: string;
  message?: string;
}

/** Where a setting is given: its flag, its key in the config file, its environment variable. */
const SETTING = {
  host: '--host (host: in the config file, NODEPULSE_HOST)',
  port: '--port (port: in the config file, NODEPULSE_PORT)',
  store: '--store (store: in the config file, NODEPULSE_STORE)',
};

const hostPort = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** A listen that failed (exit 78, as the agent's statusListen): the address, why, and the setting to change. */
export function listenFailure(error: unknown, listen: { host: string; port: number }): FixableError | undefined {
  const { code, syscall } = (error ?? {}) as SystemError;
  if (syscall !== 'listen' && syscall !== 'bind') return undefined;
  const address = hostPort(listen.host, listen.port);
  const why: Record<string, string> = {
    EADDRINUSE: `${address} is already in use (another coordinator, or another program, listens there): stop it, or choose another port with ${SETTING.port}`,
    EACCES: `listening on ${address} is not permitted (ports below 1024 need root or CAP_NET_BIND_SERVICE): choose another port with ${SETTING.port}`,
    EADDRNOTAVAIL: `${listen.host} is not an address of this host: choose another with ${SETTING.host}`,
  };
  const text = code ? why[code] : undefined;
  return text ? new FixableError(`cannot listen: ${text}`, EXIT_CONFIG) : undefined;
}

const writable = (path: string) => {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/** The nearest directory above `path` that exists (for "create it" advice). */
function existingAncestor(path: string): string {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Why a SQLite store file cannot be opened, from what the filesystem shows now. */
export function sqliteStoreProblem(path: string, error: unknown): string {
  const file = resolve(path);
  const dir = dirname(file);
  const ancestor = existingAncestor(dir);
  if (ancestor !== dir) {
    return statSync(ancestor).isDirectory()
      ? `its directory ${dir} does not exist and cannot be created in ${ancestor} (${(error as SystemError).code ?? 'not writable'})`
      : `its directory ${dir} cannot exist: ${ancestor} is a file, not a directory`;
  }
  if (!statSync(dir).isDirectory()) return `${dir} is a file, not a directory`;
  if (existsSync(file) && statSync(file).isDirectory()) return `${file} is a directory, not a database file`;
  if (!writable(dir)) return `its directory ${dir} is not writable by this user (uid ${process.getuid?.() ?? '?'})`;
  if (existsSync(file) && !writable(file)) return `the file is not writable by this user (uid ${process.getuid?.() ?? '?'})`;
  return String((error as SystemError).message ?? error).split('\n')[0] ?? '';
}

/** The errors of a store that cannot be opened or created where it is asked for. */
const STORE_OPEN_CODES = new Set(['EACCES', 'EPERM', 'ENOENT', 'ENOTDIR', 'EEXIST', 'EROFS', 'EISDIR', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PERM', 'SQLITE_NOTADB']);

/** A SQLite store that cannot be opened (exit 73, EX_CANTCREAT): its path, why, and the setting that names it. */
export function storeOpenFailure(error: unknown, location: string): FixableError | undefined {
  if (/^postgres(ql)?:\/\//.test(location) || location === ':memory:') return undefined;
  const { code, message } = (error ?? {}) as SystemError;
  const missingDir = /directory does not exist/.test(message ?? '');
  if (!missingDir && !(code && STORE_OPEN_CODES.has(code))) return undefined;
  const reason = code === 'SQLITE_NOTADB' ? 'the file is not a SQLite database' : sqliteStoreProblem(location, error);
  return new FixableError(
    `cannot open the SQLite store ${resolve(location)}: ${reason}. Fix the directory's owner or mode, or point ${SETTING.store} elsewhere`,
    EXIT_CANTCREAT,
  );
}
