import { afterEach, describe, expect, it } from 'vitest';
import { CoordinatorConfigSchema, resolveTimeouts } from '../../../src/coordinator/config.ts';
import { deadlineSweepAt } from '../../../src/coordinator/sweeper/deadline-sweep.ts';
import { loadConfig } from '../../../src/shared/config-loader.ts';
import { ConfigError } from '../../../src/shared/errors.ts';
import { ADMIN, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';
import { request } from './instances-helpers.ts';

/**
 * Maintenance windows and per-cluster timeouts on the manual clock: the decisions. The same with
 * real processes and real timers is test/e2e/maintenance.test.ts.
 */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function instanceIdOf(hostname: string): Promise<number> {
  const { body } = await request(h, 'GET', `/api/v2/instances/?hostname=${hostname}`);
  return body.results[0].id as number;
}
const beat = async (...nodes: { nodeToken: string }[]) => {
  for (const node of nodes) expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {})).status).toBe(200);
};
/** Moves the clock in 5 s steps, the live nodes heartbeating every 10 s, and sweeps at the end. */
async function elapse(ms: number, live: { nodeToken: string }[] = []) {
  for (let step = 0; step < ms; step += 5_000) {
    h.clock.advance(Math.min(5_000, ms - step));
    if (step % 10_000 === 0) await beat(...live);
  }
  return h.coordinator.sweeper.sweep();
}
const history = async (instanceId: number) => (await request(h, 'GET', `/api/v2/instances/${instanceId}/history/`)).body.results as Record<string, any>[];
const maintenance = (instanceId: number, until: number | null, reason = 'kernel upgrade') =>
  request(h, 'PATCH', `/api/v2/instances/${instanceId}/`, ADMIN, { maintenance_until: until === null ? null : iso(until), maintenance_reason: reason });

describe('an instance in maintenance', () => {
  it('is set with PATCH before its host ever registered, reads as in maintenance until the time passes, and its end is recorded', async () => {
    h = await startHarness();
    const created = await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'planned-1' });
    expect(created.body).toMatchObject({ maintenance: false, maintenance_until: null, maintenance_reason: '' });
    const id = created.body.id as number;
    expect((await request(h, 'PATCH', `/api/v2/instances/${id}/`, READER, { maintenance_reason: 'x' })).status).toBe(403);
    const refused = await request(h, 'PATCH', `/api/v2/instances/${id}/`, ADMIN, { maintenance_until: 'tomorrow' });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body.details)).toContain('maintenance_until');

    await h.coordinator.sweeper.sweep();
    const until = h.clock.now() + HOUR;
    const set = await maintenance(id, until);
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ maintenance: true, maintenance_until: iso(until), maintenance_reason: 'kernel upgrade' });
    // `maintenance` is read-only: sent back as read, it changes nothing.
    expect((await request(h, 'PATCH', `/api/v2/instances/${id}/`, ADMIN, { maintenance: false })).body.maintenance).toBe(true);

    h.clock.advance(HOUR + 1);
    expect((await request(h, 'GET', `/api/v2/instances/${id}/`)).body).toMatchObject({ maintenance: false, maintenance_until: iso(until) });
    await h.coordinator.sweeper.sweep();
    expect((await history(id)).map((entry) => [entry.kind, entry.reason, entry.evidence])).toEqual([
      ['maintenance-changed', 'ended', { until: iso(until), reason: 'kernel upgrade', set_by: 'coordinator' }],
      ['maintenance-changed', 'started', { until: iso(until), reason: 'kernel upgrade', set_by: 'admin' }],
    ]);

    const again = h.clock.now() + HOUR;
    await maintenance(id, again, 'disk swap');
    expect((await maintenance(id, null, '')).body).toMatchObject({ maintenance: false, maintenance_until: null, maintenance_reason: '' });
    const [ended] = await history(id);
    expect(ended).toMatchObject({ kind: 'maintenance-changed', reason: 'ended', evidence: { until: null, set_by: 'admin' } });
    // The same window again is no change: nothing more in the history.
    await maintenance(id, null, '');
    expect(await history(id)).toHaveLength(4);
  });

  it('times out a silent node in maintenance as expected, and the monitor stays Healthy; a node silent without one makes it Unhealthy', async () => {
    // Every check 10 s apart records an event (the keepalive), so each can be read.
    h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35, monitorKeepaliveSecs: 10 });
    const planned = await h.register({ hostname: 'planned' });
    const other = await h.register({ hostname: 'other' });
    const plannedId = await instanceIdOf('planned');
    h.passGrace();
    await beat(planned, other);
    const until = h.clock.now() + HOUR;
    await maintenance(plannedId, until, 'rack move');
    expect((await h.coordinator.monitor.check())?.components.runner.status).toBe('Healthy');

    const swept = await elapse(40_000, [other]);
    expect(swept.terminated).toEqual([planned.nodeId]);
    const [terminated] = await history(plannedId);
    expect(terminated).toMatchObject({
      kind: 'node-terminated',
      reason: 'HeartbeatTimeout',
      evidence: { maintenance: { until: iso(until), reason: 'rack move' }, deadline: expect.any(String) },
    });
    h.clock.advance(10_000);
    const runner = (await h.coordinator.monitor.check())!.components.runner;
    expect(runner.status).toBe('Healthy');
    expect(runner.selfInfo).toContain('1 of 1 expected nodes Active');
    expect(runner.selfInfo).toContain('1 instances in maintenance');
    // The clusters API does not count it as failed either.
    const clusters = await request(h, 'POST', '/runtime/api/v1/clusters', ADMIN, {});
    expect(clusters.body.clusters[0]).toMatchObject({ failed_nodes_count: 0, running_nodes_count: 1 });

    // The other host falls silent without maintenance: a failure, and the monitor says so, in the watch stream's log too.
    expect((await elapse(40_000)).terminated).toEqual([other.nodeId]);
    h.clock.advance(10_000);
    expect((await h.coordinator.monitor.check())!.components.runner.status).toBe('Unhealthy');
    const log = await h.store.transitionsAfter(0, 100);
    const change = log.find((transition) => transition.kind === 'monitor-status-changed');
    expect(change).toMatchObject({
      clusterId: 0,
      instanceId: null,
      nodeId: null,
      reason: 'Unhealthy',
      evidence: { statuses: { runner: 'Unhealthy', allHealthy: false }, previous: { runner: 'Healthy' } },
    });
  });

  it('leaves silent nodes in maintenance out of the mass-silence guard, which still holds a real cut', async () => {
    h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35 });
    const nodes = [];
    for (let index = 0; index < 6; index++) nodes.push(await h.register({ hostname: `g${index}` }));
    h.passGrace();
    await beat(...nodes);
    // Two hosts in maintenance and two lost for real fall silent; two stay. Counted whole, 4 of 6
    // would be a mass silence; without the planned ones it is 2 of 4, under the threshold (0.5).
    for (const hostname of ['g0', 'g1']) await maintenance(await instanceIdOf(hostname), h.clock.now() + HOUR);
    const swept = await elapse(40_000, nodes.slice(4));
    expect(swept.holds).toEqual([]);
    expect(new Set(swept.terminated)).toEqual(new Set(nodes.slice(0, 4).map((node) => node.nodeId)));
    const timedOut = (await history(await instanceIdOf('g0')))[0]!;
    expect(timedOut.evidence.maintenance).toBeDefined();
    expect((await history(await instanceIdOf('g2')))[0]!.evidence.maintenance).toBeUndefined();
  });

  it('still holds a cut above the threshold when one silent node is in maintenance', async () => {
    h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35 });
    const nodes = [];
    for (let index = 0; index < 6; index++) nodes.push(await h.register({ hostname: `c${index}` }));
    h.passGrace();
    await beat(...nodes);
    await maintenance(await instanceIdOf('c0'), h.clock.now() + HOUR);
    // 4 of 5 (c1-c4 cut, c5 live; c0 planned): held, c0 included, as the whole cluster is.
    const swept = await elapse(40_000, nodes.slice(5));
    expect(swept.terminated).toEqual([]);
    expect(swept.holds).toMatchObject([{ silent: 4, active: 5 }]);
  });
});

describe('per-cluster heartbeat interval and timeout', () => {
  const EDGE = { clusters: { edge: { heartbeatInterval: 20, heartbeatTimeout: 100 } } };

  it('hands each cluster’s agents its interval and times each node out by its cluster’s timeout and grace', async () => {
    h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35, ...EDGE });
    const server = await h.call('cluster_RegisterNode', ADMIN, { hostname: 'rack-1' });
    const device = await h.call('cluster_RegisterNode', ADMIN, { hostname: 'device-1', cluster: 'edge' });
    expect(server.body.heartbeatIntervalSecs).toBe(10);
    expect(device.body.heartbeatIntervalSecs).toBe(20);
    const start = h.clock.now();
    // Both silent from the start: the server is due after its cluster's grace (35 + 30 s), the device
    // after its own (100 + 30 s).
    h.clock.set(start + 65_000 - 1);
    expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([]);
    h.clock.set(start + 65_001);
    expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([server.body.nodeId]);
    h.clock.set(start + 129_999);
    expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([]);
    h.clock.set(start + 130_001);
    expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([device.body.nodeId]);
    const [ended] = await h.store.transitionsAfter(0, 100).then((log) => log.filter((t) => t.nodeId === device.body.nodeId && t.kind === 'node-terminated'));
    expect(ended!.evidence).toMatchObject({ deadline: start + 100_000 });
  });

  it('after the grace, times a node out on its own cluster’s timeout while a longer-timeout node silent as long stays Active', async () => {
    h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35, ...EDGE });
    const server = await h.register({ hostname: 'rack-2' });
    const device = await h.register({ hostname: 'device-2', cluster: 'edge' }, ADMIN);
    h.clock.advance(130_001);
    await beat(server, device);
    const silentFrom = h.clock.now();
    h.clock.set(silentFrom + 36_000);
    expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([server.nodeId]);
    h.clock.set(silentFrom + 99_000);
    expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([]);
    h.clock.set(silentFrom + 101_000);
    expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([device.nodeId]);
  });

  it('arms the deadline timer by the shortest timeout, and leaves a node not due by its own cluster’s timeout to the ticks', () => {
    const lastSweep = { terminated: [], holds: [], durationMs: 1, finishedAt: 10_001, judgedAt: 10_000 };
    // Due by the shortest timeout (35 s) before the next tick: a sweep then.
    expect(deadlineSweepAt({ oldestHeartbeat: 0, now: 34_500, timeoutMs: 35_000, periodMs: 1000, lastSweep: undefined })).toBe(35_001);
    // Already due when the last sweep judged, which terminated nothing (a longer timeout's node): the ticks.
    expect(deadlineSweepAt({ oldestHeartbeat: 0, now: 10_050, timeoutMs: 5_000, periodMs: 1000, lastSweep })).toBeUndefined();
    // Due after that sweep judged: soon.
    expect(deadlineSweepAt({ oldestHeartbeat: 5_500, now: 10_600, timeoutMs: 5_000, periodMs: 1000, lastSweep })).toBe(10_600);
  });

  it('refuses a cluster’s timeout under two of its intervals and unknown keys, naming them; one interval alone gets its own timeout', () => {
    const resolve = (clusters: unknown) => resolveTimeouts(loadConfig(CoordinatorConfigSchema, { flags: { clusters: JSON.stringify(clusters) } }));
    const problems = (clusters: unknown) => {
      try {
        resolve(clusters);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems.join('\n');
        throw error;
      }
      return '';
    };
    expect(problems({ edge: { heartbeatInterval: 30, heartbeatTimeout: 40 } })).toContain('clusters.edge.heartbeatTimeout: 40s is shorter than two heartbeat intervals (60s)');
    expect(problems({ edge: { heartbeatTimout: 40 } })).toContain('clusters.edge');
    expect(problems({ edge: { heartbeatInterval: 0 } })).toContain('clusters.edge.heartbeatInterval');
    const settings = resolve({ edge: { heartbeatInterval: 30 }, rack: { heartbeatTimeout: 20 } });
    expect(settings.clusters?.get('edge')).toMatchObject({ intervalMs: 30_000, timeoutMs: 95_000, graceMs: 125_000 });
    expect(settings.clusters?.get('rack')).toMatchObject({ intervalMs: 10_000, timeoutMs: 20_000 });
    expect(settings).toMatchObject({ intervalMs: 10_000, timeoutMs: 35_000 });
  });
});
