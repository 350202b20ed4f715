import { afterEach, expect, it, vi } from 'vitest';
import { judgeComponents } from '../../../src/coordinator/monitor/component-checks.ts';
import { type Harness, startHarness } from '../../helpers/coordinator-harness.ts';
import { HEALTHY } from './events-helpers.ts';

it('judges the state engine Unhealthy when its sweeper is overdue, and names the delay', () => {
  const reports = judgeComponents({ ...HEALTHY, compiler: { ...HEALTHY.compiler, sweepOverdueMs: 12_400 } }, new Set(['compiler']));
  expect(reports.compiler.status).toBe('Unhealthy');
  expect(reports.compiler.selfInfo).toContain('the sweeper is 12 s overdue');
  expect(judgeComponents(HEALTHY, new Set()).compiler.status).toBe('Healthy');
});

it('judges the state engine Unhealthy while it recovers from its own stall, and says until when', () => {
  const compiler = { ...HEALTHY.compiler, graceUntil: '2026-01-01T00:01:00.000Z', graceReason: 'stall' };
  const reports = judgeComponents({ ...HEALTHY, compiler }, new Set(['compiler']));
  expect(reports.compiler.status).toBe('Unhealthy');
  expect(reports.compiler.selfInfo).toContain('recovering from a stall: no node is timed out until 2026-01-01T00:01:00.000Z');
  expect(judgeComponents({ ...HEALTHY, compiler: { ...compiler, graceReason: 'startup' } }, new Set(['compiler'])).compiler.status).toBe('Healthy');
});

it('tells in the API component how many replicas serve', () => {
  const reports = judgeComponents({ ...HEALTHY, api: { ...HEALTHY.api, replicas: 3 } }, new Set());
  expect(reports.api.resourcesInfo).toBe('this replica leads the sweeper; 3 replica(s) serving');
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  vi.useRealTimers();
});

it('counts a started sweeper overdue once a period and the late threshold pass without a sweep', async () => {
  // The schedule's own timers never fire here: only the manual clock moves.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  h = await startHarness({ sweepLateThresholdMs: 2000 });
  expect(h.coordinator.sweeper.overdueMs()).toBeNull();
  h.coordinator.sweeper.start();
  await h.coordinator.sweeper.sweep();
  h.clock.advance(3_000);
  expect(h.coordinator.sweeper.overdueMs()).toBe(0);
  h.clock.advance(500);
  expect(h.coordinator.sweeper.overdueMs()).toBe(500);
  await h.coordinator.sweeper.sweep();
  expect(h.coordinator.sweeper.overdueMs()).toBe(0);
});
