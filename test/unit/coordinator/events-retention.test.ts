import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CoordinatorConfigSchema } from '../../../src/coordinator/config.ts';
import { loadConfig } from '../../../src/shared/config-loader.ts';
import { type Harness, startHarness } from '../../helpers/coordinator-harness.ts';
import { contractProblems } from '../../helpers/contracts.ts';
import { recorderFor } from './events-helpers.ts';
import { request } from './instances-helpers.ts';

const HOUR = 3600_000;

describe('cluster monitor event retention (seed 004)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('keeps at most 1000 events: the 1001st drops the oldest', async () => {
    const recorder = recorderFor(h);
    const first = await recorder.check();
    for (let i = 1; i < 1000; i++) {
      h.clock.advance(1000);
      await recorder.check();
    }
    expect((await h.store.listEvents(2000)).length).toBe(1000);
    expect((await request(h, 'GET', `/v0/cluster/events/${first!.id}`)).status).toBe(200);
    h.clock.advance(1000);
    const newest = await recorder.check();
    const list = (await request(h, 'GET', '/v0/cluster/events')).body;
    expect(list).toHaveLength(1000);
    expect(list[0].id).toBe(newest!.id);
    const gone = await request(h, 'GET', `/v0/cluster/events/${first!.id}`);
    expect(gone.status).toBe(404);
    expect(Object.keys(gone.body).sort()).toEqual(['details', 'error_code', 'message']);
    expect(contractProblems('feldera', 'ErrorResponse', gone.body)).toEqual([]);
  });

  const ids = async (path = '/v0/cluster/events') => (await request(h, 'GET', path)).body.map((event: { id: string }) => event.id);

  it('deletes an event past 72 h on the coordinator’s next check, even when that check records nothing', async () => {
    await h.close();
    h = await startHarness({ monitorKeepaliveSecs: 72 * 3600 });
    const monitor = h.coordinator.monitor;
    const old = await monitor.check();
    h.clock.advance(72 * HOUR);
    const keepalive = await monitor.check();
    expect(keepalive).toBeDefined();
    expect((await h.store.listEvents(10)).map((event) => event.id)).toEqual([keepalive!.id, old!.id]);
    h.clock.advance(1000);
    expect(await monitor.check()).toBeUndefined();
    expect((await h.store.listEvents(10)).map((event) => event.id)).toEqual([keepalive!.id]);
  });

  it('never serves an event past 72 h, even before a check pruned it, but always serves the latest however old', async () => {
    const monitor = h.coordinator.monitor;
    const old = await monitor.check();
    h.clock.advance(HOUR);
    const latest = await monitor.check();
    expect(latest).toBeDefined();
    // The coordinator checks nothing for over 72 h (stopped, or no replica recording): both events are still stored.
    h.clock.advance(72 * HOUR + 1);
    expect(await h.store.getEvent(old!.id)).toBeDefined();
    const expired = await request(h, 'GET', `/v0/cluster/events/${old!.id}`);
    expect(expired.status).toBe(404);
    expect(contractProblems('feldera', 'ErrorResponse', expired.body)).toEqual([]);
    expect(await ids()).toEqual([latest!.id]);
    expect((await request(h, 'GET', '/v0/cluster/events/latest')).body.id).toBe(latest!.id);
    expect((await request(h, 'GET', `/v0/cluster/events/${latest!.id}`)).status).toBe(200);
    expect((await request(h, 'GET', '/v0/cluster_healthz')).body.api.unchanged_since).toBe(new Date(latest!.recordedAt).toISOString());
    // The next check records a keepalive and deletes both; the one before it is no longer the latest.
    const next = await monitor.check();
    expect(await ids()).toEqual([next!.id]);
    expect((await h.store.listEvents(10)).map((event) => event.id)).toEqual([next!.id]);
    expect((await request(h, 'GET', `/v0/cluster/events/${latest!.id}`)).status).toBe(404);
  });

  it('bounds monitorKeepaliveSecs by the 72 h retention', () => {
    expect(loadConfig(CoordinatorConfigSchema, { flags: { monitorKeepaliveSecs: 72 * 3600 } }).monitorKeepaliveSecs).toBe(72 * 3600);
    expect(() => loadConfig(CoordinatorConfigSchema, { flags: { monitorKeepaliveSecs: 72 * 3600 + 1 } })).toThrow(/monitorKeepaliveSecs/);
  });
});
