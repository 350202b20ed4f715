/**
 * The systemd units pass `systemd-analyze verify`. verify checks that ExecStart's binary exists,
 * so the test verifies a copy whose ExecStart points at this machine's node binary and this
 * checkout instead of /usr/bin/node and /opt/nodepulse (the documented install paths); nothing
 * else is changed. A copy with a misspelt key must fail, proving the check can fail.
 *
 * The agent's notifications go through the real systemd-notify binary to a stand-in for
 * systemd's notification socket (a Unix datagram socket; Node cannot bind one, so a few lines of
 * Python do, closing the barrier descriptor systemd-notify waits on as systemd would).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { REPO_ROOT, cleanupAll, makeTempDir, spawnProcess, waitFor } from '../helpers/spawn-process.ts';
import { FAST, startAgent, waitForRegistration } from './agent-helpers.ts';

afterEach(cleanupAll);

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

    it(`${unit} is hardened, runs node directly and does not restart on a config error (exit 78)`, () => {
      const d = directives(unit);
      expect(d.get('ExecStart')).toMatch(/^\/usr\/bin\/node (--[a-z-]+ )*\/opt\/nodepulse\/dist\/(cli\/main\.js|nodepulse-agent\.mjs) /);
      expect(d.get('ExecStart')).not.toMatch(/npm/);
      expect(d.get('DynamicUser')).toBe('yes');
      expect(d.get('NoNewPrivileges')).toBe('yes');
      expect(d.get('ProtectSystem')).toBe('strict');
      expect(d.get('StateDirectory')).toMatch(/^nodepulse-/);
      expect(d.get('Restart')).toBe('on-failure');
      expect(d.get('RestartPreventExitStatus')?.split(' ')).toContain('78');
    });
  }

  it('does not restart a coordinator whose SQLite driver is missing (exit 69) or whose store cannot be created (exit 73)', () => {
    expect(directives('nodepulse-coordinator.service').get('RestartPreventExitStatus')?.split(' ')).toEqual(['78', '69', '73']);
  });

  it('gives the agent longer to stop than its deregistration deadline', () => {
    const stop = Number.parseInt(directives('nodepulse-agent.service').get('TimeoutStopSec') ?? '0', 10);
    const example = readFileSync(join(REPO_ROOT, 'config', 'agent.example.yaml'), 'utf8');
    const deadline = Number(example.match(/^deregisterTimeout: (\S+)/m)?.[1]);
    expect(deadline).toBeGreaterThan(0);
    expect(stop).toBeGreaterThan(deadline + 1);
  });

  it('runs the agent as Type=notify with a watchdog longer than its longest pause between heartbeat attempts', () => {
    const d = directives('nodepulse-agent.service');
    expect(d.get('Type')).toBe('notify');
    expect(d.get('NotifyAccess')).toBe('all');
    const example = readFileSync(join(REPO_ROOT, 'config', 'agent.example.yaml'), 'utf8');
    const key = (name: string) => Number(example.match(new RegExp(`^${name}: (\\S+)`, 'm'))?.[1]);
    const longestPause = Math.max(key('heartbeatInterval'), key('retryMaxDelay'), key('authRetryDelay')) + key('requestTimeout');
    expect(longestPause).toBeGreaterThan(0);
    expect(Number.parseInt(d.get('WatchdogSec') ?? '0', 10)).toBeGreaterThan(longestPause);
  });

  it('catches a misspelt key (the verification can fail)', () => {
    const broken = localCopy('nodepulse-agent.service', (t) => t.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
    expect(verify(broken).output).toMatch(/Unknown key/);
  });
});

const NOTIFY_SOCKET_STANDIN = `
import array, socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
server.bind(sys.argv[1])
print("bound", flush=True)
while True:
    message, ancillary, _, _ = server.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(data[: len(data) - len(data) % 4])
            for fd in fds:
                socket.close(fd)
    if message != b"BARRIER=1":
        print(message.decode(), flush=True)
`;

describe('the agent under a Type=notify unit', () => {
  // python3 stands in for systemd's notify socket (Node cannot bind a unix datagram socket); it is on every machine of this kind.
  it('sends READY=1, then WATCHDOG=1 on heartbeats and STOPPING=1 on SIGTERM through systemd-notify, and hides the socket from checks', async () => {
    const dir = makeTempDir('nodepulse-notify-');
    const socketPath = join(dir, 'notify.sock');
    writeFileSync(join(dir, 'standin.py'), NOTIFY_SOCKET_STANDIN);
    const systemd = spawnProcess('python3', [join(dir, 'standin.py'), socketPath], { name: 'notify-socket' });
    await systemd.waitForLine(/^bound$/, 15_000);

    const coordinator = await startCoordinatorProcess({ args: FAST });
    const config = join(dir, 'agent.yaml');
    writeFileSync(config, ['checks:', '  - {name: no-notify-socket, type: command, command: [sh, -c, \'test -z "$NOTIFY_SOCKET"\']}', ''].join('\n'));
    const { proc } = startAgent(coordinator.url, { args: ['--config', config], env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '4000000' } });
    await systemd.waitForLine(/^READY=1$/, 30_000);
    await waitForRegistration(proc);
    await waitFor(() => systemd.stdoutLines.filter((l) => l === 'WATCHDOG=1').length >= 3, 20_000, { message: 'three watchdog pings' });
    await waitFor(() => proc.stdoutLines.some((l) => l.includes('"heartbeat accepted"') && l.includes('"health":"passing"')), 20_000, {
      message: 'the check passes: it does not see NOTIFY_SOCKET',
    });

    proc.kill('SIGTERM');
    expect(await proc.waitForExit(15_000)).toEqual({ code: 0, signal: null });
    await systemd.waitForLine(/^STOPPING=1$/, 10_000);
    expect(proc.output()).not.toMatch(/could not notify systemd|systemd-notify not found/);
  });
});
