import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { cleanupAll, makeTempDir, spawnNodepulse, waitFor } from '../helpers/spawn-process.ts';
import { runNodepulse } from './operator-cli-helpers.ts';

afterEach(async () => cleanupAll());

/** Each test runs several `nodepulse` processes one after another: seconds each on a loaded machine. */
const SPAWNS_SEVERAL = 180_000;

it('creates a token shown once, lists tokens without their values, and revokes one so a running coordinator refuses it', async () => {
  const store = join(makeTempDir(), 'nodepulse.db');
  const created = await runNodepulse(['tokens', 'create', '--role', 'reader', '--label', 'grafana', '--store', store, '--create', '--json']);
  expect(created.exit.code).toBe(0);
  expect(created.stderr).toBe(`nodepulse: store ${store}`);
  const token = JSON.parse(created.stdout) as { id: string; token: string; role: string };
  expect(token).toMatchObject({ role: 'reader', token: expect.stringMatching(/^np_/) });

  const listed = await runNodepulse(['tokens', 'list', '--store', store, '--json']);
  expect(listed.exit.code).toBe(0);
  expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: token.id, role: 'reader', label: 'grafana', revokedAt: null })]);
  expect(listed.stdout).not.toContain(token.token);

  const coordinator = await startCoordinatorProcess({ storePath: store, args: ['--token-cache-secs', '1'] });
  const details = () => coordinator.post('cluster_GetDetails', token.token);
  expect((await details()).status).toBe(200);

  const revoked = await runNodepulse(['tokens', 'revoke', token.id, '--store', store]);
  expect(revoked.exit.code).toBe(0);
  expect(revoked.stdout).toContain(`revoked ${token.id}`);
  await waitFor(async () => (await details()).status === 401, 15_000, { message: 'the revoked token refused within tokenCacheSecs' });
  const twice = await runNodepulse(['tokens', 'revoke', token.id, '--store', store, '--json']);
  expect(twice.exit.code).toBe(1);
  expect(JSON.parse(twice.stdout)).toEqual({ id: token.id, revoked: false });
}, SPAWNS_SEVERAL);

it('refuses to start a new store at a path where there is none (a mistyped --store), naming the path and --create (exit 66)', async () => {
  const dir = makeTempDir();
  const store = join(dir, 'nodepulse.db');
  expect((await runNodepulse(['tokens', 'create', '--role', 'admin', '--store', store, '--create'])).exit.code).toBe(0);

  const typo = join(dir, 'nodepluse.db');
  const refused = await runNodepulse(['tokens', 'create', '--role', 'admin', '--store', typo]);
  expect(refused.exit.code).toBe(66);
  expect(refused.stdout).toBe('');
  expect(refused.stderr.split('\n')).toEqual([
    `nodepulse: store ${typo}`,
    `nodepulse: no nodepulse store at ${typo}: check --store (or store: in --config, NODEPULSE_STORE); to start a new store there, add --create`,
  ]);
  expect(existsSync(typo)).toBe(false);

  // The default store, ./data/nodepulse.db, is named absolute: which ./data was meant is not a guess.
  const listed = spawnNodepulse(['tokens', 'list'], { cwd: dir });
  expect((await listed.waitForExit(30_000)).code).toBe(66);
  expect(listed.stderrLines.join('\n')).toContain(`no nodepulse store at ${join(dir, 'data', 'nodepulse.db')}`);
}, SPAWNS_SEVERAL);

it('names a store directory that cannot be made and why (exit 73), and still runs `token`, the spelling of 0.1, with a note', async () => {
  const dir = makeTempDir();
  writeFileSync(join(dir, 'plain-file'), '');
  const store = join(dir, 'plain-file', 'data', 'nodepulse.db');
  const result = await runNodepulse(['token', 'create', '--role', 'admin', '--store', store, '--create']);
  expect(result.exit.code).toBe(73);
  expect(result.stderr).toContain('nodepulse: warning: `token` is now `tokens`');
  expect(result.stderr).toContain(
    `nodepulse: cannot open the SQLite store ${store}: its directory ${join(dir, 'plain-file', 'data')} cannot exist: ${join(dir, 'plain-file')} is a file, not a directory`,
  );
  expect(result.stderr).not.toMatch(/unable to open database file|ENOTDIR: /);
}, SPAWNS_SEVERAL);

it('on PostgreSQL too: a database without a nodepulse store is refused until --create, and the store is named without its password', async () => {
  const database = await createTestDatabase('token-cli');
  try {
    const url = new URL(database.url);
    const password = decodeURIComponent(url.password);
    expect(password).not.toBe('');
    url.password = '';
    const shown = `nodepulse: store ${url.toString()}`;
    const refused = await runNodepulse(['tokens', 'create', '--role', 'admin', '--store', database.url]);
    expect(refused.exit.code).toBe(66);
    expect(refused.stderr.split('\n')[0]).toBe(shown);
    expect(refused.stderr).toContain(`no nodepulse store at ${url.toString()}`);

    const created = await runNodepulse(['tokens', 'create', '--role', 'admin', '--store', database.url, '--create', '--json']);
    expect(created.exit.code).toBe(0);
    expect(created.stderr).toBe(shown);
    expect(`${refused.stderr}${created.stderr}`).not.toContain(password);
    const listed = await runNodepulse(['tokens', 'list', '--store', database.url, '--json']);
    expect(listed.exit.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ role: 'admin' })]);
  } finally {
    await database.drop();
  }
}, SPAWNS_SEVERAL);
