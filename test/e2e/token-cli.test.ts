import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, makeTempDir, waitFor } from '../helpers/spawn-process.ts';
import { runNodepulse } from './operator-cli-helpers.ts';

afterEach(async () => cleanupAll());

it('creates a token shown once, lists tokens without their values, and revokes one so a running coordinator refuses it', async () => {
  const store = join(makeTempDir(), 'nodepulse.db');
  const created = await runNodepulse(['token', 'create', '--role', 'reader', '--label', 'grafana', '--store', store, '--json']);
  expect(created.exit.code).toBe(0);
  const token = JSON.parse(created.stdout) as { id: string; token: string; role: string };
  expect(token).toMatchObject({ role: 'reader', token: expect.stringMatching(/^np_/) });

  const listed = await runNodepulse(['token', 'list', '--store', store, '--json']);
  expect(listed.exit.code).toBe(0);
  expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: token.id, role: 'reader', label: 'grafana', revokedAt: null })]);
  expect(listed.stdout).not.toContain(token.token);

  const coordinator = await startCoordinatorProcess({ storePath: store, args: ['--token-cache-secs', '1'] });
  const details = () => coordinator.post('cluster_GetDetails', token.token);
  expect((await details()).status).toBe(200);

  const revoked = await runNodepulse(['token', 'revoke', token.id, '--store', store]);
  expect(revoked.exit.code).toBe(0);
  expect(revoked.stdout).toContain(`revoked ${token.id}`);
  await waitFor(async () => (await details()).status === 401, 15_000, { message: 'the revoked token refused within tokenCacheSecs' });
  expect((await runNodepulse(['token', 'revoke', token.id, '--store', store])).exit.code).not.toBe(0);
});
