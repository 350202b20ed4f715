import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../../src/agent/retry-after.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('Retry-After', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
  });

  it('reads an HTTP date as the time left until it, 0 once past', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 12:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', NOW)).toBe(0);
  });

  it('ignores an absent or malformed header', () => {
    for (const header of [undefined, '', 'soon', '-5', '1.5', '2026-01-01', 'Thu, 99 Foo 2026']) expect(parseRetryAfter(header, NOW), header).toBeUndefined();
  });
});
