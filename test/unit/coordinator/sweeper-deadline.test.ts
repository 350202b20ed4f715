import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { ADMIN, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';

const TIMEOUT_MS = 35_000;
let h: Harness;

beforeEach(() => {
  // Only the timers: the coordinator's time is the harness's manual clock, moved by hand in step.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(async () => {
  await h.close();
  vi.useRealTimers();
});

/** A started sweeper whose schedule never ticks during the test, so only a deadline sweep can act. */
async function startedSweeper() {
  h = await startHarness({ heartbeatTimeout: 35, sweepSchedule: '0 0 0 1 1 *' });
  h.coordinator.sweeper.start();
  await h.call('coordinator_LiftSafetyHolds', ADMIN, {});
}
const statusOf = async () => (await h.call('cluster_GetDetails', READER, { includeTerminated: true })).body.nodes[0];
/** Time passes with the timers running, in steps shorter than the stall watch's tolerance. */
const elapse = async (ms: number) => {
  for (let left = ms; left > 0; left -= 250) {
    const step = Math.min(250, left);
    h.clock.advance(step);
    await vi.advanceTimersByTimeAsync(step);
  }
};

it('sweeps at a silent node deadline instead of waiting for the next tick', async () => {
  await startedSweeper();
  const { nodeId } = await h.register({ name: 'silent', identity: 'silent' });
  await elapse(TIMEOUT_MS - 300);
  await h.coordinator.sweeper.sweep(); // nothing due yet; arms the deadline sweep
  expect((await statusOf()).status).toBe('Active');
  await elapse(299);
  expect((await statusOf()).status).toBe('Active');
  await elapse(5);
  expect(await statusOf()).toMatchObject({ nodeId, status: 'Terminated', terminationReason: 'HeartbeatTimeout' });
});

it('moves the deadline sweep when the node heartbeats again', async () => {
  await startedSweeper();
  const { nodeToken } = await h.register({ name: 'beating', identity: 'beating' });
  await elapse(TIMEOUT_MS - 300);
  await h.coordinator.sweeper.sweep();
  await h.call('cluster_ReportNodeHeartbeat', nodeToken, {});
  await elapse(400);
  expect((await statusOf()).status).toBe('Active');
});

it('times out nobody at a deadline that falls in a stall: the grace after the stall holds', async () => {
  await startedSweeper();
  await h.register({ name: 'silent', identity: 'silent' });
  await elapse(TIMEOUT_MS - 300);
  await h.coordinator.sweeper.sweep();
  h.clock.advance(h.config.sweepLateThresholdMs + 1_000); // the process was frozen meanwhile
  await elapse(301);
  expect((await statusOf()).status).toBe('Active');
  expect(h.logs()).toContain('"why":"stall"');
});
