import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { derivedIdentity, loadIdentity, readBootId } from '../../../src/agent/identity.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'np-identity-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('agent identity', () => {
  it('creates a UUID on first start and keeps it across restarts', () => {
    const stateDir = join(tempDir(), 'state');
    const first = loadIdentity({ stateDir });
    expect(first.source).toBe('created');
    expect(first.identity).toMatch(/^[0-9a-f-]{36}$/);
    expect(readFileSync(join(stateDir, 'identity'), 'utf8').trim()).toBe(first.identity);
    const second = loadIdentity({ stateDir });
    expect(second).toEqual({ identity: first.identity, source: 'state' });
  });

  it('lets a configured identity win', () => {
    expect(loadIdentity({ stateDir: tempDir(), override: 'web-0' })).toEqual({ identity: 'web-0', source: 'config' });
  });

  it('falls back to a stable derived identity, with a warning, when the state directory is not writable', () => {
    const parent = tempDir();
    const blocker = join(parent, 'file');
    writeFileSync(blocker, 'not a directory');
    const machineId = join(parent, 'machine-id');
    writeFileSync(machineId, 'abc123\n');
    const result = loadIdentity({ stateDir: join(blocker, 'state'), machineIdFiles: [machineId] });
    expect(result.source).toBe('derived');
    expect(result.warning).toMatch(/not writable/);
    expect(result.identity).toBe(derivedIdentity([machineId]));
    expect(derivedIdentity([machineId])).not.toBe(derivedIdentity([join(parent, 'missing')], 'host-a'));
  });
});

describe('boot id', () => {
  it('reads the kernel boot id and lets NODEPULSE_BOOT_ID override it', () => {
    const file = join(tempDir(), 'boot_id');
    writeFileSync(file, 'boot-1\n');
    expect(readBootId({}, file)).toBe('boot-1');
    expect(readBootId({ NODEPULSE_BOOT_ID: 'clone' }, file)).toBe('clone');
  });
});
