import { request } from 'node:https';
import { join } from 'node:path';
import { type SpawnedProcess, freePort, makeTempDir, spawnNodepulse } from './spawn-process.ts';

export const E2E_ADMIN = 'np_e2e_admin_token_0123456789abcdef';
export const E2E_ENROLL = 'np_e2e_enroll_token_0123456789abcdef';

/** What the test's own requests to an https coordinator trust (ca) and present (a client certificate), as PEM. */
export interface ClientTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface CoordinatorProcess {
  proc: SpawnedProcess;
  url: string;
  port: number;
  storePath: string;
  post: (action: string, token: string, body?: unknown) => Promise<{ status: number; body: any }>;
}

/** One request and its answer's text: fetch over HTTP, node:https with the given trust over HTTPS. */
async function send(url: string, init: { method: string; headers: Record<string, string>; body: string }, tls: ClientTls | undefined) {
  if (!tls) {
    const response = await fetch(url, init);
    return { status: response.status, text: await response.text() };
  }
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const outgoing = request(url, { method: init.method, headers: init.headers, ...tls, agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += String(chunk)));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(init.body);
  });
}

/**
 * Starts `nodepulse coordinator serve` on a free port and waits for its "listening" line. With
 * `tls`, the test serves HTTPS (its args name the certificate) and `post` trusts `tls.ca`.
 */
export async function startCoordinatorProcess(
  options: { storePath?: string; port?: number; args?: string[]; env?: Record<string, string>; tls?: ClientTls } = {},
): Promise<CoordinatorProcess> {
  const port = options.port ?? (await freePort());
  const storePath = options.storePath ?? join(makeTempDir(), 'nodepulse.db');
  const proc = spawnNodepulse(['coordinator', 'serve', '--port', String(port), '--store', storePath, ...(options.args ?? [])], {
    env: { NODEPULSE_ADMIN_TOKEN: E2E_ADMIN, NODEPULSE_ENROLL_TOKEN: E2E_ENROLL, ...options.env },
  });
  await proc.waitForLine(/"listening"/, 45_000);
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const post = async (action: string, token: string, body: unknown = {}) => {
    const init = { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) };
    const { status, text } = await send(`${url}/api/v1/actions/invoke/${action}`, init, options.tls);
    return { status, body: text ? JSON.parse(text) : undefined };
  };
  return { proc, url, port, storePath, post };
}
