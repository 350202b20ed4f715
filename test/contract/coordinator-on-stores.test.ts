import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installBootstrapTokens } from '../../src/coordinator/auth/bootstrap-tokens.ts';
import { CoordinatorConfigSchema, resolveTimeouts } from '../../src/coordinator/config.ts';
import { type Coordinator, createCoordinator } from '../../src/coordinator/coordinator.ts';
import type { Store } from '../../src/coordinator/store/store.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { loadConfig } from '../../src/shared/config-loader.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { STORES } from './stores.ts';

const ADMIN = 'np_contract_admin_token_0123456789';
const ENROLL = 'np_contract_enroll_token_0123456789';

/** The coordinator's features end to end through HTTP (app.inject), on every store implementation. */
for (const impl of STORES) {
  describe(`the coordinator on ${impl.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    let coordinator: Coordinator;
    const clock = new ManualClock();
    const config = loadConfig(CoordinatorConfigSchema, { flags: { heartbeatInterval: 10 } });
    const settings = resolveTimeouts(config);

    beforeAll(async () => {
      ({ store, dispose } = await impl.open('coordinator'));
      await installBootstrapTokens(store, [{ role: 'admin', token: ADMIN }, { role: 'enroll', token: ENROLL, cluster: 'default' }], clock.now());
      const logger = createLogger({ level: 'error', component: 'coordinator', pretty: false, stream: new PassThrough().resume() });
      coordinator = await createCoordinator({ store, clock, logger, config, settings });
    });
    afterAll(async () => {
      await coordinator?.stop();
      await dispose?.();
    });

    async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, body?: unknown) {
      const response = await coordinator.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        payload: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined };
    }
    const action = (name: string, token: string, body: unknown = {}) => call('POST', `/api/v1/actions/invoke/${name}`, token, body);
    const details = async () => (await action('cluster_GetDetails', ADMIN, { includeTerminated: true })).body.nodes as Record<string, string>[];

    it('registers, heartbeats, deregisters, times out and never resurrects a node', async () => {
      const facts = { hostname: 'web-1', cpu: { cpus: 2, source: 'host' }, memory: { totalBytes: 4_294_967_296, source: 'host' } };
      const web = (await action('cluster_RegisterNode', ENROLL, { name: 'web-1', hostname: 'web-1', facts })).body;
      const db = (await action('cluster_RegisterNode', ENROLL, { name: 'db-1', hostname: 'db-1' })).body;
      expect(web.nodeToken).toEqual(expect.any(String));

      clock.advance(2_000);
      expect((await action('cluster_ReportNodeHeartbeat', web.nodeToken)).status).toBe(200);
      await coordinator.heartbeats.flush();
      const beat = (await details()).find((node) => node.nodeId === web.nodeId);
      expect(Date.parse(beat!.lastHeartbeat!) - Date.parse(beat!.joinedAt!)).toBe(2_000);

      expect((await action('cluster_DeregisterNode', db.nodeToken)).status).toBe(200);
      expect((await action('cluster_DeregisterNode', db.nodeToken)).status).toBe(410);

      clock.advance(settings.timeoutMs + 1_000);
      expect((await action('cluster_CleanupInactiveNodes', ADMIN)).status).toBe(200);
      const nodes = new Map((await details()).map((node) => [node.nodeId, node]));
      expect(nodes.get(web.nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'HeartbeatTimeout' });
      expect(nodes.get(db.nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'Shutdown' });
      expect((await action('cluster_ReportNodeHeartbeat', web.nodeToken)).status).toBe(410);
      await coordinator.heartbeats.flush();
      expect((await details()).find((node) => node.nodeId === web.nodeId)?.status).toBe('Terminated');
    });

    it('serves and edits instances, health checks, clusters and monitor events', async () => {
      const list = await call('GET', '/api/v2/instances/', ADMIN);
      expect(list.status).toBe(200);
      expect(list.body.results.map((instance: { hostname: string }) => instance.hostname).sort()).toEqual(['db-1', 'web-1']);
      const web = list.body.results.find((instance: { hostname: string }) => instance.hostname === 'web-1');
      expect((await call('PATCH', `/api/v2/instances/${web.id}/`, ADMIN, { enabled: false })).body).toMatchObject({ enabled: false });
      expect((await call('POST', `/api/v2/instances/${web.id}/health_check/`, ADMIN, {})).status).toBeLessThan(300);
      const created = await call('POST', '/api/v2/instances/', ADMIN, { hostname: 'spare-1' });
      expect(created.status).toBe(201);

      const clusters = await call('POST', '/runtime/api/v1/clusters', ADMIN, {});
      expect(clusters.status).toBe(200);

      expect(await coordinator.monitor.check()).toBeDefined();
      const events = await call('GET', '/v0/cluster/events', ADMIN);
      expect(events.status).toBe(200);
      expect(events.body.length).toBeGreaterThanOrEqual(1);

      expect((await coordinator.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    });

    it('refuses an instance id past the ids a store can hold (PostgreSQL integer) as invalid, on every instance route', async () => {
      const routes = [
        ['GET', ''],
        ['PATCH', ''],
        ['DELETE', ''],
        ['GET', 'health_check/'],
        ['POST', 'health_check/'],
      ] as const;
      for (const [method, rest] of routes) {
        const body = method === 'PATCH' ? { enabled: true } : undefined;
        for (const id of ['2147483648', '9999999999', '1e308']) {
          const answer = await call(method, `/api/v2/instances/${id}/${rest}`, ADMIN, body);
          expect([method, rest, id, answer.status, answer.body.error_code]).toEqual([method, rest, id, 400, 'InvalidRequest']);
        }
        const largest = await call(method, `/api/v2/instances/2147483647/${rest}`, ADMIN, body);
        expect([method, rest, largest.status, largest.body.error_code]).toEqual([method, rest, 404, 'InstanceNotFound']);
      }
    });

    it('refuses NUL (U+0000) or an unpaired surrogate in any string of a body, or NUL in a query, which PostgreSQL cannot store, as invalid', async () => {
      const node = (await action('cluster_RegisterNode', ENROLL, { name: 'nul-1', hostname: 'nul-1' })).body;
      const refusals = [
        await action('cluster_RegisterNode', ENROLL, { name: 'nul-2', facts: { os: 'linux\u0000' } }),
        await action('cluster_ReportNodeHeartbeat', node.nodeToken, { facts: { agentVersion: '\u0000' } }),
        await action('cluster_ReportNodeHeartbeat', node.nodeToken, { health: { status: 'passing', checks: [{ name: 'disk', status: 'passing', output: 'a\u0000b' }] } }),
        await call('POST', '/api/v2/instances/', ADMIN, { hostname: 'nul-3', peers: ['peer\u0000'] }),
        await call('GET', '/api/v2/instances/?hostname=%00', ADMIN),
        // An unpaired surrogate (JSON can carry one escaped) is no text either: PostgreSQL's json refuses it.
        await action('cluster_RegisterNode', ENROLL, { name: 'nul-4', facts: { agentVersion: '\ud800' } }),
        await action('cluster_ReportNodeHeartbeat', node.nodeToken, { facts: { os: 'x\udc00' } }),
      ];
      expect(refusals.map((answer) => [answer.status, answer.body.error_code])).toEqual(refusals.map(() => [400, 'InvalidRequest']));
      expect((await action('cluster_ReportNodeHeartbeat', node.nodeToken, { facts: { os: 'linux \\u0000 as text \ud83d\ude00' } })).status).toBe(200);
    });

    it('refuses a clusters page key past the ids a store can hold as invalid, and serves the largest as an empty page', async () => {
      for (const nextKey of ['2147483648', '999999999999999']) {
        const answer = await call('POST', '/runtime/api/v1/clusters', ADMIN, { next_key: nextKey });
        expect([nextKey, answer.status, Object.keys(answer.body)]).toEqual([nextKey, 400, ['error']]);
      }
      const largest = await call('POST', '/runtime/api/v1/clusters', ADMIN, { next_key: '2147483647' });
      expect([largest.status, largest.body.clusters]).toEqual([200, []]);
    });
  });
}
