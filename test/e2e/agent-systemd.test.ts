/**
 * The systemd units pass `systemd-analyze verify`. verify checks that ExecStart's binary exists,
 * so the test verifies a copy whose ExecStart points at this machine's node binary and this
 * checkout instead of /usr/bin/node and /opt/nodepulse (the documented install paths); nothing
 * else is changed. A copy with a misspelt key must fail, proving the check can fail.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, makeTempDir, removeTempDirs } from '../helpers/spawn-process.ts';

afterEach(removeTempDirs);

const UNITS = ['nodepulse-agent.service', 'nodepulse-coordinator.service'];

function localCopy(unit: string, edit: (text: string) => string = (t) => t): string {
  const text = readFileSync(join(REPO_ROOT, 'systemd', unit), 'utf8')
    .replaceAll('/usr/bin/node', process.execPath)
    .replaceAll('/opt/nodepulse', REPO_ROOT);
  const path = join(makeTempDir('nodepulse-units-'), unit);
  writeFileSync(path, edit(text));
  return path;
}

function verify(path: string): { status: number | null; output: string } {
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', path], { encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function directives(unit: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of readFileSync(join(REPO_ROOT, 'systemd', unit), 'utf8').split('\n')) {
    const match = line.match(/^([A-Za-z]+)=(.*)$/);
    if (match) map.set(match[1]!, match[2]!);
  }
  return map;
}

describe('systemd units', () => {
  for (const unit of UNITS) {
    it(`${unit} passes systemd-analyze verify`, () => {
      const result = verify(localCopy(unit));
      expect(result.output).not.toMatch(new RegExp(`${unit}.*(Unknown|Invalid|Failed|not executable|ignoring)`, 'i'));
      expect(result.status).toBe(0);
    });

    it(`${unit} is hardened, runs node directly and does not restart on a config error`, () => {
      const d = directives(unit);
      expect(d.get('ExecStart')).toMatch(/^\/usr\/bin\/node \/opt\/nodepulse\/dist\/cli\/main\.js /);
      expect(d.get('ExecStart')).not.toMatch(/npm/);
      expect(d.get('DynamicUser')).toBe('yes');
      expect(d.get('NoNewPrivileges')).toBe('yes');
      expect(d.get('ProtectSystem')).toBe('strict');
      expect(d.get('StateDirectory')).toMatch(/^nodepulse-/);
      expect(d.get('Restart')).toBe('on-failure');
      expect(d.get('RestartPreventExitStatus')).toBe('78');
    });
  }

  it('gives the agent longer to stop than its deregistration deadline', () => {
    const stop = Number.parseInt(directives('nodepulse-agent.service').get('TimeoutStopSec') ?? '0', 10);
    const example = readFileSync(join(REPO_ROOT, 'config', 'agent.example.yaml'), 'utf8');
    const deadline = Number(example.match(/^deregisterTimeout: (\S+)/m)?.[1]);
    expect(deadline).toBeGreaterThan(0);
    expect(stop).toBeGreaterThan(deadline + 1);
  });

  it('catches a misspelt key (the verification can fail)', () => {
    const broken = localCopy('nodepulse-agent.service', (t) => t.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
    expect(verify(broken).output).toMatch(/Unknown key/);
  });
});
