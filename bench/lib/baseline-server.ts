import { join } from 'node:path';
import { type SpawnedProcess, freePort, spawnProcess } from '../../test/helpers/spawn-process.ts';

export interface BaselineServer {
  proc: SpawnedProcess;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** The bare Fastify baseline (lib/bare-fastify.mjs) as a child process on 127.0.0.1. */
export async function startBareFastify(): Promise<BaselineServer> {
  const port = await freePort();
  const proc = spawnProcess(process.execPath, [join(import.meta.dirname, 'bare-fastify.mjs'), String(port)], { name: 'bare fastify' });
  await proc.waitForLine(/"listening"/, 30_000);
  return {
    proc,
    pid: proc.pid,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      proc.kill('SIGTERM');
      await proc.waitForExit(10_000).catch(() => proc.kill('SIGKILL'));
    },
  };
}
