import { join } from 'node:path';
import { type SpawnedProcess, freePort, makeTempDir, spawnNodepulse } from './spawn-process.ts';

export const E2E_ADMIN = 'np_e2e_admin_token_0123456789abcdef';
export const E2E_ENROLL = 'np_e2e_enroll_token_0123456789abcdef';

export interface CoordinatorProcess {
  proc: SpawnedProcess;
  url: string;
  port: number;
  storePath: string;
  post: (action: string, token: string, body?: unknown) => Promise<{ status: number; body: any }>;
}

/** Starts `nodepulse coordinator serve` on a free port and waits for its "listening" line. */
export async function startCoordinatorProcess(
  options: { storePath?: string; port?: number; args?: string[]; env?: Record<string, string> } = {},
): Promise<CoordinatorProcess> {
  const port = options.port ?? (await freePort());
  const storePath = options.storePath ?? join(makeTempDir(), 'nodepulse.db');
  const proc = spawnNodepulse(['coordinator', 'serve', '--port', String(port), '--store', storePath, ...(options.args ?? [])], {
    env: { NODEPULSE_ADMIN_TOKEN: E2E_ADMIN, NODEPULSE_ENROLL_TOKEN: E2E_ENROLL, ...options.env },
  });
  await proc.waitForLine(/"listening"/, 45_000);
  const url = `http://127.0.0.1:${port}`;
  const post = async (action: string, token: string, body: unknown = {}) => {
    const response = await fetch(`${url}/api/v1/actions/invoke/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return { proc, url, port, storePath, post };
}
