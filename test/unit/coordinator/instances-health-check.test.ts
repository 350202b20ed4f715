import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';
import { FACTS, request } from './instances-helpers.ts';

const FAILING = { status: 'critical', checks: [{ name: 'disk', status: 'critical', output: '/ is 99% full' }, { name: 'http', status: 'passing' }] };

describe('instance health checks', () => {
  let h: Harness;
  let node: { nodeId: string; nodeToken: string };
  let url: string;
  beforeEach(async () => {
    h = await startHarness({ healthCheckTimeoutSecs: 60 });
    node = await h.register({ hostname: 'web-1', facts: FACTS });
    const [instance] = (await request(h, 'GET', '/api/v2/instances/')).body.results;
    url = `/api/v2/instances/${instance.id}/`;
  });
  afterEach(async () => h.close());

  it('runs the round trip: request, the heartbeat asks, the report records errors and clears pending', async () => {
    const started = await request(h, 'POST', `${url}health_check/`);
    expect(started).toMatchObject({ status: 200, body: { msg: 'Health check is running for web-1.' } });
    const again = await request(h, 'POST', `${url}health_check/`);
    expect(again.body).toEqual({ msg: 'Health check already in progress for web-1.' });
    expect((await request(h, 'GET', url)).body).toMatchObject({ health_check_pending: true, health_check_started: new Date(h.clock.now()).toISOString() });

    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {})).body).toEqual({ healthCheckRequested: true });
    h.clock.advance(2000);
    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, { health: FAILING, facts: { ...FACTS, cpu: { cpus: 8, source: 'host' } } })).body).toEqual({});
    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {})).body).toEqual({});

    const after = (await request(h, 'GET', url)).body;
    expect(after).toMatchObject({ health_check_pending: false, last_health_check: new Date(h.clock.now()).toISOString(), node_state: 'unavailable', cpu: '8.0', capacity: 0 });
    expect(after.errors).toContain('disk: critical: / is 99% full');
    const view = await request(h, 'GET', `${url}health_check/`, READER);
    expect(Object.keys(view.body).sort()).toEqual(
      ['capacity', 'cpu', 'cpu_capacity', 'errors', 'hostname', 'ip_address', 'last_health_check', 'mem_capacity', 'memory', 'uuid', 'version'].sort(),
    );
    expect(view.body).toMatchObject({ hostname: 'web-1', errors: after.errors, last_health_check: after.last_health_check });
  });

  it('records an error when the agent never reports within the timeout', async () => {
    await request(h, 'POST', `${url}health_check/`);
    h.clock.advance(59_000);
    await h.coordinator.healthChecks.refresh();
    expect((await request(h, 'GET', url)).body.health_check_pending).toBe(true);
    h.clock.advance(2000);
    await h.coordinator.healthChecks.refresh();
    const after = (await request(h, 'GET', url)).body;
    expect(after).toMatchObject({ health_check_pending: false, last_health_check: null });
    expect(after.errors).toMatch(/timed out/);
    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {})).body).toEqual({});
    expect((await request(h, 'POST', `${url}health_check/`)).body.msg).toMatch(/is running/);
  });

  it('sees a check requested through another replica after a refresh from the store', async () => {
    const id = Number(url.split('/')[4]);
    await h.store.requestHealthCheck(id, h.clock.now());
    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {})).body).toEqual({});
    await h.coordinator.healthChecks.refresh();
    expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {})).body).toEqual({ healthCheckRequested: true });
  });

  it('lets only admins start a check and answers 404 for an unknown instance', async () => {
    expect((await request(h, 'POST', `${url}health_check/`, READER)).status).toBe(403);
    expect((await request(h, 'POST', '/api/v2/instances/4242/health_check/', ADMIN)).status).toBe(404);
  });
});
