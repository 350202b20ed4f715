import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MonitorObservation } from '../../../src/coordinator/monitor/component-checks.ts';
import { type Harness, startHarness } from '../../helpers/coordinator-harness.ts';
import { contractProblems } from '../../helpers/contracts.ts';
import { HEALTHY, recorderFor } from './events-helpers.ts';
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

  it('deletes events older than 72 h, except the latest, which stays however old it is', async () => {
    let status: MonitorObservation = HEALTHY;
    const recorder = recorderFor(h, () => status, 1000 * HOUR);
    const old = await recorder.check();
    h.clock.advance(HOUR);
    status = { ...HEALTHY, api: { ...HEALTHY.api, accepting: false } };
    const latest = await recorder.check();
    h.clock.advance(73 * HOUR);
    // Nothing changed: no new event, and retention has not run since.
    expect(await recorder.check()).toBeUndefined();
    await h.store.pruneEvents(1000, h.clock.now() - 72 * HOUR);
    expect((await request(h, 'GET', `/v0/cluster/events/${old!.id}`)).status).toBe(404);
    expect((await request(h, 'GET', '/v0/cluster/events/latest')).body.id).toBe(latest!.id);
    expect((await request(h, 'GET', '/v0/cluster/events')).body.map((event: { id: string }) => event.id)).toEqual([latest!.id]);
    status = HEALTHY;
    const next = await recorder.check();
    expect((await request(h, 'GET', '/v0/cluster/events')).body.map((event: { id: string }) => event.id)).toEqual([next!.id]);
  });
});
