import { describe, expect, it } from 'vitest';
import { SilencePacing } from '../../../src/coordinator/sweeper/silence-pacing.ts';

const counts = [{ clusterId: 1, expired: 600_000, overdue: 600_000, active: 1_000_000, timedOut: 0 }];

describe('the guard counts while a hold is in force', () => {
  it('reuses a costly count until ten times its cost has passed, so counting takes at most a tenth of the loop', () => {
    const pacing = new SilencePacing();
    pacing.counted(10_000, 120, counts);
    expect(pacing.reusable(10_000 + 1_000, true)).toBe(counts);
    expect(pacing.reusable(10_000 + 1_199, true)).toBe(counts);
    expect(pacing.reusable(10_000 + 1_200, true)).toBeUndefined();
  });

  it('counts on every pass when no hold is in force, however costly the count', () => {
    const pacing = new SilencePacing();
    pacing.counted(10_000, 500, counts);
    expect(pacing.reusable(10_001, false)).toBeUndefined();
  });

  it('counts on every once-a-second sweep when a count is cheap (a small fleet under a hold)', () => {
    const pacing = new SilencePacing();
    pacing.counted(10_000, 2, counts);
    expect(pacing.reusable(11_000, true)).toBeUndefined();
  });

  it('lets no count stand longer than ten seconds, however slow it was', () => {
    const pacing = new SilencePacing();
    pacing.counted(10_000, 5_000, counts);
    expect(pacing.reusable(19_999, true)).toBe(counts);
    expect(pacing.reusable(20_000, true)).toBeUndefined();
  });

  it('has nothing to reuse before its first count', () => {
    expect(new SilencePacing().reusable(0, true)).toBeUndefined();
  });
});
