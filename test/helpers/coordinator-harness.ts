import { PassThrough } from 'node:stream';
import { vi } from 'vitest';
import { installBootstrapTokens } from '../../src/coordinator/auth/bootstrap-tokens.ts';
import { resolveJwtSettings } from '../../src/coordinator/auth/jwt-settings.ts';
import { type CoordinatorConfig, CoordinatorConfigSchema, resolveTimeouts } from '../../src/coordinator/config.ts';
import { type Coordinator, createCoordinator } from '../../src/coordinator/coordinator.ts';
import type { LeaderLock } from '../../src/coordinator/leadership/leader-lock.ts';
import { SqliteStore } from '../../src/coordinator/store/sqlite/sqlite-store.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { loadConfig } from '../../src/shared/config-loader.ts';
import { createLogger } from '../../src/shared/logger.ts';

export const ADMIN = 'np_test_admin_token_0123456789';
export const READER = 'np_test_reader_token_0123456789';
export const ENROLL = 'np_test_enroll_token_0123456789';
export const ENROLL_OTHER = 'np_test_enroll_other_0123456789';
export const ACTION = '/api/v1/actions/invoke/';

export interface Harness {
  coordinator: Coordinator;
  store: SqliteStore;
  clock: ManualClock;
  config: CoordinatorConfig;
  /** Everything the coordinator logged, as text. */
  logs: () => string;
  call: (action: string, token: string | undefined, body?: unknown) => Promise<{ status: number; body: any }>;
  register: (body?: Record<string, unknown>, token?: string) => Promise<{ nodeId: string; nodeToken: string }>;
  /** Moves time forward past the startup grace (a timeout plus the agents' backoff cap). */
  passGrace: () => void;
  close: () => Promise<void>;
}

/** A coordinator on an in-memory SQLite store with a manual clock; nothing is scheduled. */
export async function startHarness(
  overrides: Partial<CoordinatorConfig> = {},
  storePath = ':memory:',
  /** A stand-in for the replicas' leader lock: the coordinator then acts as one of several replicas. */
  leaderLock?: LeaderLock,
  sweepPageSize?: number,
): Promise<Harness> {
  const config = loadConfig(CoordinatorConfigSchema, { flags: { heartbeatInterval: 10, ...overrides } });
  const settings = resolveTimeouts(config);
  const clock = new ManualClock();
  const store = new SqliteStore(storePath);
  await store.migrate();
  // A second harness on the same store file (another replica) finds the tokens there already.
  if ((await store.listTokens()).length === 0) await installBootstrapTokens(
    store,
    [
      { role: 'admin', token: ADMIN },
      { role: 'reader', token: READER },
      { role: 'enroll', token: ENROLL, cluster: 'default' },
      { role: 'enroll', token: ENROLL_OTHER, cluster: 'other' },
    ],
    clock.now(),
  );
  const sink = new PassThrough();
  let logged = '';
  sink.on('data', (chunk: Buffer) => (logged += chunk.toString()));
  const logger = createLogger({ level: 'debug', component: 'coordinator', pretty: false, stream: sink });
  // JWT keys only from the config (jwtSecretFile, a key set): never the test runner's environment.
  const jwt = resolveJwtSettings(config, {});
  const coordinator = await createCoordinator({ store, clock, logger, config, settings, leaderLock, sweepPageSize, jwt });
  coordinator.holds.grantGrace('startup');
  const call: Harness['call'] = async (action, token, body) => {
    const response = await coordinator.app.inject({
      method: 'POST',
      url: `${ACTION}${action}`,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined };
  };
  return {
    coordinator,
    store,
    clock,
    config,
    logs: () => logged,
    call,
    register: async (body = {}, token = ENROLL) => {
      const response = await call('cluster_RegisterNode', token, body);
      if (response.status !== 200) throw new Error(`register failed: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body as { nodeId: string; nodeToken: string };
    },
    passGrace: () => clock.advance(settings.graceMs + 1),
    close: async () => {
      await coordinator.stop();
      await store.close();
    },
  };
}

/**
 * Listens on 127.0.0.1 (a free port) and holds every cluster lookup in the store until
 * `release()`: requests stay in flight, so a shutdown finds their connections busy. `lookup`
 * counts the lookups that arrived.
 */
export async function listenHoldingClusterLookups(h: Harness) {
  const app = h.coordinator.app;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const findCluster = h.store.findClusterByName.bind(h.store);
  const lookup = vi.spyOn(h.store, 'findClusterByName').mockImplementation(async (name) => {
    await held;
    return findCluster(name);
  });
  return { port, release, lookup };
}
