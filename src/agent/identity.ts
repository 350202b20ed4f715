/**
 * The agent's persistent identity: a random UUID created once in the state directory and sent
 * with every registration, so the coordinator keeps one instance per host across restarts and
 * hostname changes. A configured identity wins. When the state directory is not writable the
 * identity is derived from the machine id (or, without one, the hostname): stable, but shared
 * by clones of the same image, so a writable state directory is the recommended setup.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const IDENTITY_FILE = 'identity';
const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type IdentitySource = 'config' | 'state' | 'created' | 'derived';

export interface Identity {
  identity: string;
  source: IdentitySource;
  /** Why the identity is derived rather than stored (the state directory problem). */
  warning?: string;
}

export interface IdentityOptions {
  stateDir: string;
  override?: string | undefined;
  machineIdFiles?: string[];
  hostname?: string;
}

function readTrimmed(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text.length > 0 ? text : undefined;
  } catch {
    return undefined;
  }
}

/** "derived-" + a UUID-shaped sha256 of the machine id (or hostname): documented in docs/agent.md. */
export function derivedIdentity(machineIdFiles = MACHINE_ID_FILES, host = hostname()): string {
  const machineId = machineIdFiles.map(readTrimmed).find((id) => id !== undefined);
  const hex = createHash('sha256').update(`nodepulse:${machineId ?? `hostname:${host}`}`).digest('hex');
  return `derived-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function loadIdentity(options: IdentityOptions): Identity {
  if (options.override) return { identity: options.override, source: 'config' };
  const file = join(options.stateDir, IDENTITY_FILE);
  const stored = readTrimmed(file);
  if (stored !== undefined && UUID_SHAPE.test(stored)) return { identity: stored, source: 'state' };
  const identity = randomUUID();
  try {
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, `${identity}\n`, { mode: 0o600 });
    renameSync(temp, file);
    return { identity, source: 'created' };
  } catch (error) {
    return {
      identity: derivedIdentity(options.machineIdFiles, options.hostname),
      source: 'derived',
      warning: `state directory ${options.stateDir} is not writable (${(error as Error).message}); using an identity derived from the machine id`,
    };
  }
}

/** The kernel boot id (tells a restart from a cloned VM); NODEPULSE_BOOT_ID overrides it for tests. */
export function readBootId(env: NodeJS.ProcessEnv = process.env, file = '/proc/sys/kernel/random/boot_id'): string | undefined {
  const fromEnv = env.NODEPULSE_BOOT_ID?.trim();
  if (fromEnv) return fromEnv;
  return readTrimmed(file);
}
