import type { Harness } from '../../helpers/coordinator-harness.ts';
import { ADMIN } from '../../helpers/coordinator-harness.ts';

/** HTTP helpers for the operator API tests: JSON in, status and parsed body out. */
export async function request(h: Harness, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string | null = ADMIN, body?: unknown) {
  const response = await h.coordinator.app.inject({
    method,
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, body: response.body ? JSON.parse(response.body) : undefined };
}

export const FACTS = {
  hostname: 'web-1',
  ipAddress: '10.0.0.5',
  agentVersion: '1.2.3',
  cpu: { cpus: 4, source: 'host' as const },
  memory: { totalBytes: 8_589_934_592, source: 'host' as const },
  capacity: { cpuCapacity: 16, memCapacity: 80 },
  jobsRunning: 4,
  jobsTotal: 10,
};
