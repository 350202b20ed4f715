import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { type NotifySpawn, SystemdNotifier, watchdogTimeoutMs } from '../../../src/agent/systemd-notifier.ts';
import { createLogger } from '../../../src/shared/logger.ts';

interface Spawned {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  child: EventEmitter;
}

let lines: string[] = [];
const logger = createLogger({ level: 'debug', component: 'test', pretty: false, stream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });

function fakeSpawn(): { spawn: NotifySpawn; spawned: Spawned[] } {
  const spawned: Spawned[] = [];
  const spawn: NotifySpawn = (command, args, env) => {
    const child = new EventEmitter();
    spawned.push({ command, args, env, child });
    return child;
  };
  return { spawn, spawned };
}

const SYSTEMD_ENV = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '120000000', WATCHDOG_PID: '4242' };
/** A clock that moves by `stepMs` on every reading. */
const ticking = (stepMs: number) => {
  let at = 0;
  return () => (at += stepMs);
};
const enoent = () => Object.assign(new Error('spawn systemd-notify ENOENT'), { code: 'ENOENT' });

describe('systemd notifier', () => {
  beforeEach(() => {
    lines = [];
  });

  it('sends nothing when systemd set no NOTIFY_SOCKET', () => {
    const { spawn, spawned } = fakeSpawn();
    const notifier = new SystemdNotifier({ env: { WATCHDOG_USEC: '1000000' }, logger, spawn, pid: 4242 });
    notifier.ready();
    notifier.watchdog();
    notifier.stopping();
    expect(spawned).toEqual([]);
    expect(notifier.watchdogMs).toBeUndefined();
  });

  it('sends READY=1 and STOPPING=1 through systemd-notify, with only the socket and PATH in its environment', () => {
    const { spawn, spawned } = fakeSpawn();
    const notifier = new SystemdNotifier({ env: { ...SYSTEMD_ENV, NODEPULSE_TOKEN: 'np_secret' }, logger, spawn, pid: 4242 });
    notifier.ready();
    notifier.stopping();
    expect(spawned.map((s) => [s.command, ...s.args])).toEqual([
      ['systemd-notify', 'READY=1'],
      ['systemd-notify', 'STOPPING=1'],
    ]);
    expect(spawned[0]?.env).toEqual({ PATH: process.env.PATH, NOTIFY_SOCKET: '/run/systemd/notify' });
  });

  it('pings the watchdog, but never starts a second ping while one is still on its way', () => {
    const { spawn, spawned } = fakeSpawn();
    const notifier = new SystemdNotifier({ env: SYSTEMD_ENV, logger, spawn, pid: 4242, now: ticking(60_000) });
    expect(notifier.watchdogMs).toBe(120_000);
    notifier.watchdog();
    notifier.watchdog();
    expect(spawned.map((s) => s.args)).toEqual([['WATCHDOG=1']]);
    spawned[0]?.child.emit('exit', 0, null);
    notifier.watchdog();
    expect(spawned.map((s) => s.args)).toEqual([['WATCHDOG=1'], ['WATCHDOG=1']]);
  });

  it('pings at most every quarter of the watchdog timeout, however often the loop makes progress', () => {
    const { spawn, spawned } = fakeSpawn();
    let at = 0;
    const notifier = new SystemdNotifier({ env: SYSTEMD_ENV, logger, spawn, pid: 4242, now: () => at });
    for (; at <= 100_000; at += 10_000) {
      notifier.watchdog();
      for (const s of spawned) s.child.emit('exit', 0, null);
    }
    // 120 s timeout: a ping at 0, 30 s, 60 s and 90 s of heartbeats every 10 s.
    expect(spawned).toHaveLength(4);
  });

  it('does not ping without a watchdog for this process (no WATCHDOG_USEC, or another WATCHDOG_PID)', () => {
    const { spawn, spawned } = fakeSpawn();
    new SystemdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify' }, logger, spawn, pid: 4242 }).watchdog();
    new SystemdNotifier({ env: { ...SYSTEMD_ENV, WATCHDOG_PID: '1' }, logger, spawn, pid: 4242 }).watchdog();
    expect(spawned).toEqual([]);
    expect(watchdogTimeoutMs({ WATCHDOG_USEC: '30000000' }, 7)).toBe(30_000);
    expect(watchdogTimeoutMs({ WATCHDOG_USEC: 'soon' }, 7)).toBeUndefined();
  });

  it('logs a missing systemd-notify once and stops notifying', () => {
    const { spawn, spawned } = fakeSpawn();
    const notifier = new SystemdNotifier({ env: SYSTEMD_ENV, logger, spawn, pid: 4242 });
    notifier.ready();
    spawned[0]?.child.emit('error', enoent());
    spawned[0]?.child.emit('exit', -2, null);
    notifier.watchdog();
    notifier.stopping();
    expect(spawned).toHaveLength(1);
    expect(notifier.enabled).toBe(false);
    expect(lines.filter((l) => l.includes('systemd-notify not found'))).toHaveLength(1);
  });

  it('survives a spawn that throws, and warns about a failing systemd-notify only once', () => {
    const throwing = new SystemdNotifier({ env: SYSTEMD_ENV, logger, spawn: () => { throw enoent(); }, pid: 4242 });
    expect(() => throwing.ready()).not.toThrow();
    expect(throwing.enabled).toBe(false);

    const { spawn, spawned } = fakeSpawn();
    const notifier = new SystemdNotifier({ env: SYSTEMD_ENV, logger, spawn, pid: 4242, now: ticking(60_000) });
    for (let i = 0; i < 3; i++) {
      notifier.watchdog();
      spawned[i]?.child.emit('exit', 1, null);
    }
    expect(spawned).toHaveLength(3);
    const failures = lines.filter((l) => l.includes('could not notify systemd')).map((l) => JSON.parse(l) as { level: string; error: string });
    expect(failures.map((f) => f.level)).toEqual(['warn', 'debug', 'debug']);
    expect(failures[0]?.error).toBe('systemd-notify exited 1');
  });
});
