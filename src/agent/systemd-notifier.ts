/**
 * Tells systemd how the agent is doing (sd_notify: READY=1, WATCHDOG=1, STOPPING=1) without a
 * native module: each message is one `systemd-notify` child process. Since systemd 246,
 * systemd-notify waits until systemd has processed the message, so a message from this
 * short-lived helper is attributed to the unit (which needs NotifyAccess=all) instead of being
 * dropped. The child is spawned asynchronously: the event loop never waits for it.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../shared/logger.ts';

export interface ServiceNotifier {
  /** The service manager's watchdog timeout, when it runs one for this process. */
  readonly watchdogMs: number | undefined;
  /** Start-up is complete (the heartbeat loop runs). */
  ready(): void;
  /** The heartbeat loop made progress. */
  watchdog(): void;
  /** Shutting down. */
  stopping(): void;
}

/** The part of a child process the notifier listens to. */
export interface NotifyChild {
  once(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
}

export type NotifySpawn = (command: string, args: string[], env: NodeJS.ProcessEnv) => NotifyChild;

const spawnNotify: NotifySpawn = (command, args, env) => spawn(command, args, { stdio: 'ignore', env });

/** The environment variables systemd sets for a Type=notify service. */
export const NOTIFY_ENV_KEYS = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

export interface SystemdNotifierOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  spawn?: NotifySpawn;
  pid?: number;
  /** Milliseconds on a monotonic-enough clock; Date.now by default. */
  now?: () => number;
}

/** Watchdog pings go at most this often, as a share of the timeout: each ping is a process. */
const WATCHDOG_PING_SHARE = 1 / 4;

export class SystemdNotifier implements ServiceNotifier {
  readonly watchdogMs: number | undefined;
  private readonly socket: string | undefined;
  private readonly logger: Logger;
  private readonly spawn: NotifySpawn;
  private disabled = false;
  private watchdogInFlight = false;
  private lastPingAt: number | undefined;
  private readonly now: () => number;
  private failureLogged = false;

  constructor(options: SystemdNotifierOptions) {
    this.socket = options.env.NOTIFY_SOCKET || undefined;
    this.watchdogMs = this.socket ? watchdogTimeoutMs(options.env, options.pid ?? process.pid) : undefined;
    this.logger = options.logger;
    this.spawn = options.spawn ?? spawnNotify;
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.socket !== undefined && !this.disabled;
  }

  ready(): void {
    this.send('READY=1');
  }

  stopping(): void {
    this.send('STOPPING=1');
  }

  watchdog(): void {
    // No watchdog configured: a ping per heartbeat would only cost a process.
    if (this.watchdogMs === undefined || this.watchdogInFlight) return;
    // Progress within the last quarter of the timeout was reported already: systemd needs no more.
    const now = this.now();
    if (this.lastPingAt !== undefined && now - this.lastPingAt < this.watchdogMs * WATCHDOG_PING_SHARE) return;
    this.lastPingAt = now;
    this.watchdogInFlight = true;
    this.send('WATCHDOG=1', () => (this.watchdogInFlight = false));
  }

  private send(message: string, done: () => void = () => {}): void {
    if (!this.enabled) return done();
    let settled = false;
    const settle = (problem?: Error | string) => {
      if (settled) return;
      settled = true;
      done();
      if (problem !== undefined) this.failed(message, problem);
    };
    try {
      // Only what systemd-notify needs: the enrollment token stays out of its environment.
      const child = this.spawn('systemd-notify', [message], { PATH: process.env.PATH, NOTIFY_SOCKET: this.socket });
      child.once('error', (error) => settle(error));
      child.once('exit', (code, signal) => settle(code === 0 ? undefined : `systemd-notify ${signal ?? `exited ${code}`}`));
    } catch (error) {
      settle(error as Error);
    }
  }

  private failed(message: string, problem: Error | string): void {
    if (typeof problem !== 'string' && (problem as NodeJS.ErrnoException).code === 'ENOENT') {
      this.disabled = true;
      this.logger.warn('systemd-notify not found: not notifying systemd from now on (a Type=notify unit will not see READY=1)', { message });
      return;
    }
    const error = typeof problem === 'string' ? problem : problem.message;
    // Logged once: a socket that refuses one message refuses them all, every heartbeat.
    this.logger.log(this.failureLogged ? 'debug' : 'warn', 'could not notify systemd', { message, error });
    this.failureLogged = true;
  }
}

/** WATCHDOG_USEC, when it is meant for this process (WATCHDOG_PID unset or ours), as sd_watchdog_enabled() reads it. */
export function watchdogTimeoutMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return usec / 1000;
}
