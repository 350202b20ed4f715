import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { copyNativeDir, installedNativeDir, nativeProgram, serverUser } from '../helpers/postgres-binaries.ts';
import { type PostgresServer, startPostgresServer, withPgClient } from '../helpers/postgres.ts';
import { REPO_ROOT, cleanupAll, makeTempDir, spawnProcess } from '../helpers/spawn-process.ts';

/**
 * The test PostgreSQL starts from any checkout, including one under a private directory (a clone
 * in /root, mode 0700, as in containers and CI images). As root the server runs as the postgres
 * user, which cannot reach binaries there: they run from a copy open to every user. Not as root
 * the server runs as ourselves, and the copy is exercised by asking for it.
 */
const AS_ROOT = userInfo().uid === 0;
/** A cluster is created and started in seconds, but in tens of them on a loaded machine. */
const SETUP_TIMEOUT_MS = 100_000;
const servers: PostgresServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.remove();
  await cleanupAll();
});

/** A directory only its owner may enter, as /root is. */
function privateDir(): string {
  const dir = makeTempDir('nodepulse-private-');
  chmodSync(dir, 0o700);
  return dir;
}

/**
 * A minimal checkout in `home`: the test setup's modules and the PostgreSQL binaries package as
 * real files (they are what the server's user must reach), the other packages linked from ours.
 */
async function privateCheckout(home: string): Promise<{ checkout: string; nativeDir: string }> {
  const checkout = join(home, 'nodepulse');
  mkdirSync(join(checkout, 'test', 'helpers'), { recursive: true });
  writeFileSync(join(checkout, 'package.json'), '{ "type": "module" }\n');
  for (const file of ['postgres-global-setup.ts', 'postgres.ts', 'postgres-binaries.ts', 'spawn-process.ts']) {
    copyFileSync(join(REPO_ROOT, 'test', 'helpers', file), join(checkout, 'test', 'helpers', file));
  }
  const binariesPackage = dirname(await installedNativeDir());
  const packageInCheckout = join(checkout, 'node_modules', relative(join(REPO_ROOT, 'node_modules'), binariesPackage));
  mkdirSync(dirname(packageInCheckout), { recursive: true });
  copyNativeDir(binariesPackage, packageInCheckout);
  for (const name of ['pg', 'vitest', 'tsx']) symlinkSync(join(REPO_ROOT, 'node_modules', name), join(checkout, 'node_modules', name));
  writeFileSync(join(checkout, 'setup-check.mjs'), SETUP_CHECK);
  return { checkout, nativeDir: join(packageInCheckout, 'native') };
}

/** Runs the vitest global setup as vitest would, asks its server `select 1`, then tears it down. */
const SETUP_CHECK = `
import pg from 'pg';
import { setup, teardown } from './test/helpers/postgres-global-setup.ts';
let url;
await setup({ provide: (_key, value) => { url = value; } });
const client = new pg.Client({ connectionString: url });
await client.connect();
const { rows } = await client.query('select 1 as one');
await client.end();
console.log(JSON.stringify({ url, one: rows[0].one }));
await teardown();
`;

async function selectOne(url: string): Promise<unknown> {
  return withPgClient(url, async (client) => (await client.query<{ one: number }>('select 1 as one')).rows[0]?.one);
}

it('the global setup run from a checkout under a private directory starts a server that answers, and removes it at teardown', async () => {
  const { checkout, nativeDir } = await privateCheckout(privateDir());
  if (AS_ROOT) {
    // What failed before: the server's user (postgres) cannot even start the checkout's initdb.
    const initdb = spawnSync(nativeProgram(nativeDir, 'initdb'), ['--version'], serverUser());
    expect(initdb.error).toMatchObject({ code: 'EACCES' });
  }
  const check = spawnProcess(process.execPath, ['--import', 'tsx', 'setup-check.mjs'], { cwd: checkout, env: { TEST_DATABASE_URL: undefined }, name: 'global setup' });
  const exit = await check.waitForExit(SETUP_TIMEOUT_MS);
  expect(exit, check.output()).toEqual({ code: 0, signal: null });
  const result = JSON.parse(check.stdoutLines.at(-1) ?? '{}') as { url: string; one: number };
  expect(result.one).toBe(1);
  await expect(selectOne(result.url)).rejects.toThrow(/ECONNREFUSED/);
}, SETUP_TIMEOUT_MS + 20_000);

it('runs from a copy of the binaries that every user can reach, removed with the server', async () => {
  const nativeDir = join(privateDir(), 'native');
  copyNativeDir(await installedNativeDir(), nativeDir);
  const server = await startPostgresServer({ nativeDir, copyBinaries: true });
  servers.push(server);
  expect(server.nativeDir).not.toBe(nativeDir);
  for (let dir = server.nativeDir; dir !== dirname(dir); dir = dirname(dir)) {
    expect(statSync(dir).mode & 0o001, `${dir} open to every user`).toBe(0o001);
  }
  expect(await selectOne(server.url)).toBe(1);
  await server.remove();
  servers.splice(0);
  expect(existsSync(server.nativeDir)).toBe(false);
}, SETUP_TIMEOUT_MS);

it('a server that cannot start fails saying which step and why', async () => {
  const empty = makeTempDir('nodepulse-no-binaries-');
  await expect(startPostgresServer({ nativeDir: empty })).rejects.toThrow(/PostgreSQL initdb failed: spawn .*initdb ENOENT/);
});
