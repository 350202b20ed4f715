import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INFO_CAP_BYTES, type MonitorObservation } from '../../../src/coordinator/monitor/component-checks.ts';
import { uuidV7Generator } from '../../../src/coordinator/monitor/uuid-v7.ts';
import { type Harness, startHarness } from '../../helpers/coordinator-harness.ts';
import { HEALTHY, recorderFor } from './events-helpers.ts';

const unhealthyRunner = (): MonitorObservation => ({ ...HEALTHY, runner: { ...HEALTHY.runner, expected: 2, active: 1, timedOut: 1 } });

describe('cluster monitor event recorder', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('records on the first check, on every change of status, and as a keepalive when nothing changes', async () => {
    let observation = HEALTHY;
    const recorder = recorderFor(h, () => observation, 600_000);
    expect(await recorder.check()).toMatchObject({ allHealthy: true });
    h.clock.advance(10_000);
    expect(await recorder.check()).toBeUndefined();
    observation = unhealthyRunner();
    h.clock.advance(10_000);
    expect(await recorder.check()).toMatchObject({ allHealthy: false, components: { runner: { status: 'Unhealthy' }, api: { status: 'Healthy' } } });
    h.clock.advance(590_000);
    expect(await recorder.check()).toBeUndefined();
    h.clock.advance(10_000);
    expect(await recorder.check()).toMatchObject({ allHealthy: false });
    expect(await h.store.listEvents(10)).toHaveLength(3);
  });

  it('says InitialUnhealthy until a component first passes, Unhealthy after', async () => {
    let observation = unhealthyRunner();
    const recorder = recorderFor(h, () => observation);
    expect((await recorder.check())!.components.runner.status).toBe('InitialUnhealthy');
    observation = HEALTHY;
    h.clock.advance(1000);
    expect((await recorder.check())!.components.runner.status).toBe('Healthy');
    observation = unhealthyRunner();
    h.clock.advance(1000);
    expect((await recorder.check())!.components.runner.status).toBe('Unhealthy');
  });

  it('marks the state engine unhealthy while the mass-silence guard holds terminations, and a stopping API', async () => {
    const observation: MonitorObservation = { ...HEALTHY, api: { ...HEALTHY.api, accepting: false }, compiler: { ...HEALTHY.compiler, massSilenceHolds: 1 } };
    const event = await recorderFor(h, () => observation).check();
    expect(event!.components.compiler).toMatchObject({ status: 'InitialUnhealthy', selfInfo: expect.stringMatching(/mass-silence guard/) });
    expect(event!.components.api.status).toBe('InitialUnhealthy');
  });

  it('caps info texts at 8 KiB', async () => {
    const observation: MonitorObservation = { ...HEALTHY, compiler: { ...HEALTHY.compiler, storeError: 'x'.repeat(20_000) } };
    const event = await recorderFor(h, () => observation).check();
    expect(Buffer.byteLength(event!.components.compiler.selfInfo)).toBeLessThanOrEqual(INFO_CAP_BYTES);
  });

  it('makes time-ordered UUID v7 ids, increasing even within one millisecond and when the clock steps back', () => {
    const next = uuidV7Generator();
    const ids = [next(1000), next(1000), next(1000), next(999), next(2000)];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[4]!.slice(0, 13).replace('-', '')).toBe((2000).toString(16).padStart(12, '0'));
  });

  it('records scheduled checks only while shouldRecordScheduled allows it', async () => {
    let leader = false;
    const recorder = recorderFor(h);
    Object.assign(recorder['deps'], { shouldRecordScheduled: () => leader });
    await recorder['scheduledCheck']();
    expect(await h.store.listEvents(10)).toHaveLength(0);
    leader = true;
    await recorder['scheduledCheck']();
    expect(await h.store.listEvents(10)).toHaveLength(1);
  });
});
