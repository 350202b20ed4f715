import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ENROLL, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';
import { contractProblems } from '../../helpers/contracts.ts';
import { request } from './instances-helpers.ts';

const STATUS_KEYS = ['all_healthy', 'api_status', 'compiler_status', 'id', 'recorded_at', 'runner_status'];
const ALL_KEYS = [...STATUS_KEYS, 'api_resources_info', 'api_self_info', 'compiler_resources_info', 'compiler_self_info', 'runner_resources_info', 'runner_self_info'].sort();
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('cluster monitor events API (seed 004)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ monitorKeepaliveSecs: 600 });
  });
  afterEach(async () => h.close());

  /** Three events: healthy, then the runner unhealthy after a node timed out, then a keepalive. */
  async function recordThree() {
    await h.coordinator.monitor.check();
    await h.register({ hostname: 'web-1' });
    h.passGrace();
    h.clock.advance(36_000);
    await h.coordinator.sweeper.sweep();
    expect(await h.coordinator.monitor.check()).toBeDefined();
    h.clock.advance(600_000);
    expect(await h.coordinator.monitor.check()).toBeDefined();
  }

  it('lists events newest first, each valid against Feldera’s schema and equal to its status view by id', async () => {
    await recordThree();
    const list = await request(h, 'GET', '/v0/cluster/events', READER);
    expect(list.status).toBe(200);
    expect(list.headers['cache-control']).toBe('no-cache');
    expect(list.body).toHaveLength(3);
    const times = list.body.map((event: { recorded_at: string }) => event.recorded_at);
    expect([...times].sort().reverse()).toEqual(times);
    for (const event of list.body) {
      expect(contractProblems('feldera', 'ClusterMonitorEventSelectedInfo', event)).toEqual([]);
      expect(Object.keys(event).sort()).toEqual(STATUS_KEYS);
      expect(event.id).toMatch(UUID_V7);
      expect((await request(h, 'GET', `/v0/cluster/events/${event.id}`, READER)).body).toEqual(event);
    }
    expect(list.body.map((event: { runner_status: string }) => event.runner_status)).toEqual(['Unhealthy', 'Unhealthy', 'Healthy']);
    expect(list.body[2].all_healthy).toBe(true);
    expect(list.body[0].all_healthy).toBe(false);
  });

  it('returns exactly the status keys by default and with selector=status, and the six info fields with selector=all', async () => {
    await recordThree();
    const [latest] = (await request(h, 'GET', '/v0/cluster/events')).body;
    const byDefault = await request(h, 'GET', `/v0/cluster/events/${latest.id}`);
    const status = await request(h, 'GET', `/v0/cluster/events/${latest.id}?selector=status`);
    const all = await request(h, 'GET', `/v0/cluster/events/${latest.id}?selector=all`);
    expect(Object.keys(byDefault.body).sort()).toEqual(STATUS_KEYS);
    expect(status.body).toEqual(byDefault.body);
    expect(Object.keys(all.body).sort()).toEqual(ALL_KEYS);
    expect(contractProblems('feldera', 'ClusterMonitorEventSelectedInfo', all.body)).toEqual([]);
    expect(contractProblems('feldera', 'ExtendedClusterMonitorEvent', all.body)).toEqual([]);
    expect(all.body.runner_self_info).toMatch(/0 of 1 expected nodes Active; 1 timed out/);
    expect(all.headers['cache-control']).toBe('no-cache');
  });

  it('answers latest with the newest event', async () => {
    await recordThree();
    const [newest] = (await request(h, 'GET', '/v0/cluster/events')).body;
    expect((await request(h, 'GET', '/v0/cluster/events/latest')).body).toEqual(newest);
    expect((await request(h, 'GET', '/v0/cluster/events/latest?selector=all')).body.id).toBe(newest.id);
  });

  it('answers 400 for an unknown selector or a malformed id, 404 before any event and for an unknown id', async () => {
    const none = await request(h, 'GET', '/v0/cluster/events/latest');
    expect(none.status).toBe(404);
    expect(contractProblems('feldera', 'ErrorResponse', none.body)).toEqual([]);
    expect(none.headers['cache-control']).toBe('no-cache');
    expect((await request(h, 'GET', '/v0/cluster/events')).body).toEqual([]);
    await h.coordinator.monitor.check();
    expect((await request(h, 'GET', '/v0/cluster/events/latest?selector=everything')).status).toBe(400);
    expect((await request(h, 'GET', '/v0/cluster/events/not-a-uuid')).status).toBe(400);
    const unknown = await request(h, 'GET', '/v0/cluster/events/0190a0b0-0000-7000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('EventNotFound');
  });

  it('records an Unhealthy state engine while the mass-silence guard holds terminations', async () => {
    for (let i = 0; i < 4; i++) await h.register({ hostname: `quiet-${i}` });
    expect((await h.coordinator.monitor.check())!.allHealthy).toBe(true);
    h.passGrace();
    h.clock.advance(36_000);
    expect((await h.coordinator.sweeper.sweep()).holds).toHaveLength(1);
    await h.coordinator.monitor.check();
    const latest = (await request(h, 'GET', '/v0/cluster/events/latest?selector=all')).body;
    expect(latest).toMatchObject({ all_healthy: false, compiler_status: 'Unhealthy', runner_status: 'Healthy' });
    expect(latest.compiler_self_info).toMatch(/mass-silence guard holding terminations in 1 cluster/);
  });

  it('requires a reader or admin bearer token', async () => {
    await h.coordinator.monitor.check();
    for (const url of ['/v0/cluster/events', '/v0/cluster/events/latest', '/v0/cluster_healthz']) {
      expect((await request(h, 'GET', url, null)).status).toBe(401);
      expect((await request(h, 'GET', url, ENROLL)).status).toBe(403);
      expect((await request(h, 'GET', url, ADMIN)).status).not.toBe(401);
    }
  });

  it('serves /v0/cluster_healthz: 200 when all healthy, 503 with the unhealthy service otherwise', async () => {
    expect((await request(h, 'GET', '/v0/cluster_healthz')).status).toBe(503);
    await h.coordinator.monitor.check();
    const healthy = await request(h, 'GET', '/v0/cluster_healthz');
    expect(healthy.status).toBe(200);
    expect(contractProblems('feldera', 'HealthStatus', healthy.body)).toEqual([]);
    const firstAt = new Date(h.clock.now()).toISOString();
    await recordThree();
    const unhealthy = await request(h, 'GET', '/v0/cluster_healthz');
    expect(unhealthy.status).toBe(503);
    expect(contractProblems('feldera', 'HealthStatus', unhealthy.body)).toEqual([]);
    expect(unhealthy.body).toMatchObject({ all_healthy: false, api: { healthy: true, unchanged_since: firstAt }, runner: { healthy: false } });
    expect(unhealthy.body.runner.unchanged_since).not.toBe(firstAt);
    expect(unhealthy.body.runner.checked_at).toBe(new Date(h.clock.now()).toISOString());
  });
});
