import { writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, makeTempDir, spawnNodepulse } from '../helpers/spawn-process.ts';

/** A port some other program holds on 127.0.0.1 for the test. */
async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no port');
  return { port: address.port, server };
}

let holder: Server | undefined;
afterEach(async () => {
  holder?.close();
  holder = undefined;
  await cleanupAll();
});

describe('coordinator serve failing at start says what to fix', () => {
  it('a busy port: names the address and the settings that choose it, exit 78 (systemd does not restart it)', async () => {
    const { port, server } = await occupiedPort();
    holder = server;
    const proc = spawnNodepulse(['coordinator', 'serve', '--port', String(port), '--store', join(makeTempDir(), 'nodepulse.db')]);
    expect((await proc.waitForExit(60_000)).code).toBe(78);
    expect(proc.stderrLines.at(-1)).toBe(
      `nodepulse: cannot listen: 127.0.0.1:${port} is already in use (another coordinator, or another program, listens there): ` +
        'stop it, or choose another port with --port (port: in the config file, NODEPULSE_PORT)',
    );
  });

  it('a store directory that cannot be created: names the path and the reason, exit 73', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'not-a-dir'), '');
    const store = join(dir, 'not-a-dir', 'nodepulse.db');
    const proc = spawnNodepulse(['coordinator', 'serve', '--port', '0', '--store', store]);
    expect((await proc.waitForExit(60_000)).code).toBe(73);
    expect(proc.stderrLines.at(-1)).toBe(
      `nodepulse: cannot open the SQLite store ${store}: ${join(dir, 'not-a-dir')} is a file, not a directory. ` +
        "Fix the directory's owner or mode, or point --store (store: in the config file, NODEPULSE_STORE) elsewhere",
    );
  });
});
