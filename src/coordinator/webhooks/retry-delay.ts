import type { RetryPolicy } from './webhook-settings.ts';

/**
 * How long to wait before the next attempt after `attempts` failed ones: the base doubled per
 * attempt, capped, then "equal jitter" (a random point in its upper half), so sinks that failed
 * together do not all come back at once, and no wait falls below half of the exponential step.
 * `random` is in [0, 1): Math.random in production, fixed in tests.
 */
export function retryDelayMs(attempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempts - 1);
  // 2 ** 40 ms is 35 years: past it the cap has long taken over, and the power stays a safe integer.
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exponent, 40));
  return Math.round(step / 2 + (step / 2) * random());
}
