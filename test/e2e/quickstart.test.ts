import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, freePort, makeTempDir, spawnNodepulse, waitFor } from '../helpers/spawn-process.ts';

afterEach(cleanupAll);

const readTokens = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, 'quickstart-tokens.json'), 'utf8')) as { admin: string; enroll: string };

describe('nodepulse quickstart (npm start)', () => {
  it('runs a coordinator with a local agent registered to it, and stops both cleanly on Ctrl-C', async () => {
    const dataDir = makeTempDir();
    const port = await freePort();
    const supervisor = spawnNodepulse(['quickstart', '--data-dir', dataDir, '--port', String(port)]);
    await supervisor.waitForLine(/quick start: coordinator on/, 60_000);
    // The banner comes once the port answers: its curl line works at once.
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect(supervisor.stdoutLines).toContain(`  export NODEPULSE_COORDINATOR=http://127.0.0.1:${port} NODEPULSE_API_TOKEN=${readTokens(dataDir).admin}`);
    // The web page it names is served.
    expect(supervisor.stdoutLines).toContain(`The web page: http://127.0.0.1:${port}/ui/ (sign in with the admin token).`);
    expect((await fetch(`http://127.0.0.1:${port}/ui/`)).status).toBe(200);
    const { admin } = JSON.parse(readFileSync(join(dataDir, 'quickstart-tokens.json'), 'utf8')) as { admin: string };
    const nodes = await waitFor(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/actions/invoke/cluster_GetDetails`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}` },
        });
        const body = (await response.json()) as { nodes: Array<{ nodeId: string; status: string }> };
        return body.nodes.length === 1 ? body.nodes : undefined;
      },
      60_000,
      { intervalMs: 250, message: 'the local agent registered' },
    );
    expect(nodes[0]?.status).toBe('Active');

    supervisor.kill('SIGINT');
    expect((await supervisor.waitForExit(30_000)).code).toBe(0);
    const db = new Database(join(dataDir, 'nodepulse.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT status, termination_reason AS reason FROM nodes WHERE id = ?').get(nodes[0]?.nodeId)).toEqual({
        status: 'Terminated',
        reason: 'Shutdown',
      });
    } finally {
      db.close();
    }
  });

  it('on a busy port prints no banner: it names the address and --port and exits 78', async () => {
    const holder = createServer();
    await new Promise<void>((resolveListen) => holder.listen(0, '127.0.0.1', resolveListen));
    try {
      const port = (holder.address() as AddressInfo).port;
      const supervisor = spawnNodepulse(['quickstart', '--data-dir', makeTempDir(), '--port', String(port)]);
      expect((await supervisor.waitForExit(60_000)).code).toBe(78);
      expect(supervisor.stdoutLines.join('\n')).not.toMatch(/quick start: coordinator on|curl/);
      expect(supervisor.stderrLines).toEqual([
        `nodepulse: cannot listen: 127.0.0.1:${port} is already in use (another quick start or coordinator?): stop it, or choose another port with --port`,
      ]);
    } finally {
      holder.close();
    }
  });
});
