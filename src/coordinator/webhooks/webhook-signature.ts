import { createHmac } from 'node:crypto';

/** The headers that carry an event's id, the time it was sent and its signature. */
export const EVENT_ID_HEADER = 'X-Nodepulse-Event-Id';
export const TIMESTAMP_HEADER = 'X-Nodepulse-Timestamp';
export const SIGNATURE_HEADER = 'X-Nodepulse-Signature';

/**
 * The signature of one delivery: `sha256=` and the hex HMAC-SHA256, keyed by the sink's secret,
 * of `<timestamp>.<raw body>`, where the timestamp is X-Nodepulse-Timestamp (Unix seconds).
 * Signing the timestamp with the body lets a receiver refuse a replayed old delivery.
 */
export function signDelivery(secret: Uint8Array, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
