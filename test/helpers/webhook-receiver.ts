import { timingSafeEqual } from 'node:crypto';
import { signDelivery } from '../../src/coordinator/webhooks/webhook-signature.ts';

/** A webhook receiver's check of a delivery (docs/webhooks.md shows the same few lines): constant time, and within `toleranceSecs` of now. */
export function verifyDelivery(secret: Uint8Array, headers: { timestamp: string; signature: string }, body: string, nowSecs: number, toleranceSecs = 300): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSecs - timestamp) > toleranceSecs) return false;
  const expected = Buffer.from(signDelivery(secret, timestamp, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
