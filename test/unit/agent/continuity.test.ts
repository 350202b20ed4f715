import { describe, expect, it } from 'vitest';
import { ContinuityRecorder } from '../../../src/agent/continuity.ts';
import { ManualClock } from '../../../src/shared/clock.ts';

describe('the agent continuity sent on registration', () => {
  it('gives its process uptime and the host uptime as ages, and no failed attempt before one fails', () => {
    const clock = new ManualClock();
    const recorder = new ContinuityRecorder(clock, () => 1234.5);
    clock.advance(7_500);
    expect(recorder.report()).toEqual({ processId: recorder.processId, processUptimeSecs: 7.5, hostUptimeSecs: 1234.5 });
  });

  it('records the first and last failed attempt since the last success, and forgets them on a success', () => {
    const clock = new ManualClock();
    const recorder = new ContinuityRecorder(clock, () => undefined);
    recorder.failed('heartbeat: ECONNREFUSED');
    clock.advance(10_000);
    recorder.failed('heartbeat: ETIMEDOUT');
    clock.advance(5_000);
    recorder.failed(`registration: ${'x'.repeat(600)}`);
    clock.advance(2_000);
    expect(recorder.report().failedAttempts).toEqual({
      count: 3,
      firstSecsAgo: 17,
      firstError: 'heartbeat: ECONNREFUSED',
      lastSecsAgo: 2,
      lastError: `registration: ${'x'.repeat(512 - 'registration: '.length)}`,
    });
    recorder.succeeded();
    expect(recorder.report().failedAttempts).toBeUndefined();
    expect(recorder.report().hostUptimeSecs).toBeUndefined();
  });

  it('names each agent process differently', () => {
    const clock = new ManualClock();
    expect(new ContinuityRecorder(clock).processId).not.toBe(new ContinuityRecorder(clock).processId);
  });
});
