/**
 * The Retry-After header of a 429 or 503 answer (RFC 9110, section 10.2.3): delay-seconds or an
 * HTTP date. Parsing only; how long the agent actually waits is the heartbeat loop's decision
 * (schedule.ts retryDelayMs caps it).
 */

/** Statuses whose Retry-After the agent honours. */
export const RETRY_AFTER_STATUSES = [429, 503];

/** The wait a Retry-After asks for, in ms from `nowMs`; undefined when absent or malformed, 0 for a date already past. */
export function parseRetryAfter(header: string | undefined, nowMs: number): number | undefined {
  const text = header?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date starts with the day name ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse would take far more.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
