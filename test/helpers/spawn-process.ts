/**
 * Shared helpers for end-to-end tests: spawn real child processes, watch their output, wait for
 * conditions with deadlines (never fixed sleeps), and clean everything up after each test.
 *
 *   const proc = spawnProcess('bin/nodepulse', ['coordinator', 'serve', ...], { env });
 *   await proc.waitForLine(/"listening"/, 30_000);
 *   await waitFor(async () => (await fetchSomething()).ok, 10_000);
 *   afterEach(() => killAll());
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const NODEPULSE_BIN = join(REPO_ROOT, 'bin', 'nodepulse');

export interface SpawnOptions {
  /** Added to a copy of process.env (minus any NODEPULSE_* variables of the test runner). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** A label for error messages; the command's basename by default. */
  name?: string;
  /** Echo the child's output to the test's stderr (handy while debugging). */
  echo?: boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly name: string;
  /** Every line printed so far, stdout and stderr interleaved in arrival order. */
  readonly lines: string[];
  readonly stdoutLines: string[];
  readonly stderrLines: string[];
  /** Resolves with the first line (already printed or yet to come) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Resolves when the process has exited. */
  waitForExit(timeoutMs: number): Promise<Exit>;
  /** The exit status, or undefined while running. */
  exitStatus(): Exit | undefined;
  kill(signal?: NodeJS.Signals): void;
  output(): string;
}

const running = new Set<SpawnedProcess>();

function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('NODEPULSE_')) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString('utf8');
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) onLine(part.replace(/\r$/, ''));
  };
}

export function spawnProcess(command: string, args: string[], options: SpawnOptions = {}): SpawnedProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${command}`);
  const name = options.name ?? command.split('/').pop() ?? command;
  const lines: string[] = [];
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const lineWaiters = new Set<(line: string) => void>();
  const exitWaiters = new Set<(exit: Exit) => void>();
  let exit: Exit | undefined;

  const record = (target: string[]) => (line: string) => {
    lines.push(line);
    target.push(line);
    if (options.echo) process.stderr.write(`[${name}] ${line}\n`);
    for (const waiter of lineWaiters) waiter(line);
  };
  child.stdout?.on('data', lineSplitter(record(stdoutLines)));
  child.stderr?.on('data', lineSplitter(record(stderrLines)));
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    for (const waiter of exitWaiters) waiter(exit);
  });

  const proc: SpawnedProcess = {
    child,
    pid: child.pid,
    name,
    lines,
    stdoutLines,
    stderrLines,
    output: () => lines.join('\n'),
    exitStatus: () => exit,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (exit === undefined) child.kill(signal);
    },
    waitForLine(pattern, timeoutMs) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => {
          lineWaiters.delete(onLine);
          reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms; output:\n${tail(lines)}`));
        }, timeoutMs);
        const onLine = (line: string) => {
          if (!pattern.test(line)) return;
          clearTimeout(timer);
          lineWaiters.delete(onLine);
          resolvePromise(line);
        };
        lineWaiters.add(onLine);
      });
    },
    waitForExit(timeoutMs) {
      if (exit !== undefined) return Promise.resolve(exit);
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => {
          exitWaiters.delete(onExit);
          reject(new Error(`${name}: did not exit within ${timeoutMs} ms; output:\n${tail(lines)}`));
        }, timeoutMs);
        const onExit = (status: Exit) => {
          clearTimeout(timer);
          exitWaiters.delete(onExit);
          resolvePromise(status);
        };
        exitWaiters.add(onExit);
      });
    },
  };
  running.add(proc);
  child.on('exit', () => running.delete(proc));
  return proc;
}

function tail(lines: string[], count = 40): string {
  return lines.slice(-count).join('\n');
}

/** Runs `bin/nodepulse` (the TypeScript sources through tsx) with the given arguments. */
export function spawnNodepulse(args: string[], options: SpawnOptions = {}): SpawnedProcess {
  return spawnProcess(process.execPath, [NODEPULSE_BIN, ...args], { name: `nodepulse ${args[0] ?? ''}`, ...options });
}

/** Kills every process spawned by these helpers that is still running (SIGKILL); use in afterEach. */
export async function killAll(timeoutMs = 5_000): Promise<void> {
  const procs = [...running];
  for (const proc of procs) proc.kill('SIGKILL');
  await Promise.allSettled(procs.map((proc) => proc.waitForExit(timeoutMs)));
}

/**
 * Polls `condition` until it returns a truthy value (which is returned) or the deadline passes.
 * Exceptions thrown by the condition count as "not yet" and the last one is reported on timeout.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  timeoutMs: number,
  options: { intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  const interval = options.intervalMs ?? 50;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`${options.message ?? 'condition'} not met within ${timeoutMs} ms${reason}`);
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, interval));
  }
}

/** A TCP port that was free a moment ago (bind to 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePromise(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

const tempDirs: string[] = [];

/** A fresh temporary directory, removed by `removeTempDirs()`. */
export function makeTempDir(prefix = 'nodepulse-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** afterEach body: kill children, then remove temp dirs. */
export async function cleanupAll(): Promise<void> {
  await killAll();
  removeTempDirs();
}
