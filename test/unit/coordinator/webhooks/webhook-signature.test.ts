import { describe, expect, it } from 'vitest';
import { type DeliveryRequest, deliveryHeaders } from '../../../../src/coordinator/webhooks/webhook-delivery.ts';
import type { WebhookSink } from '../../../../src/coordinator/webhooks/webhook-settings.ts';
import { signDelivery } from '../../../../src/coordinator/webhooks/webhook-signature.ts';
import { verifyDelivery } from '../../../helpers/webhook-receiver.ts';

const SECRET = new TextEncoder().encode('webhook-secret-0123456789');
const sink: WebhookSink = { name: 'pager', url: new URL('http://127.0.0.1:1/hook'), secret: SECRET };

describe('webhook signature', () => {
  it('is the hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed by the sink secret (as openssl computes it)', () => {
    // printf '1700000000.{"id":1}' | openssl dgst -sha256 -hmac 'webhook-secret-0123456789'
    expect(signDelivery(SECRET, 1_700_000_000, '{"id":1}')).toBe('sha256=2288913da2f8884e8cd9a95665b92ffbccfdbe3771b404436cd5ebaea96554b8');
  });

  it('goes out with the event id, the timestamp in seconds and the attempt, never the secret', () => {
    const request: DeliveryRequest = { sink, eventId: 42, body: '{"id":42}', attempt: 3, now: 1_700_000_000_900 };
    const headers = deliveryHeaders(request);
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'X-Nodepulse-Event-Id': '42',
      'X-Nodepulse-Timestamp': '1700000000',
      'X-Nodepulse-Signature': signDelivery(SECRET, 1_700_000_000, '{"id":42}'),
      'x-nodepulse-attempt': '3',
    });
    expect(JSON.stringify(headers)).not.toContain('webhook-secret');
  });

  it('verifies on the receiver only with the same secret, the same body and a recent timestamp', () => {
    const body = '{"id":7,"kind":"node-terminated"}';
    const signature = signDelivery(SECRET, 1_700_000_000, body);
    const headers = { timestamp: '1700000000', signature };
    expect(verifyDelivery(SECRET, headers, body, 1_700_000_010)).toBe(true);
    expect(verifyDelivery(SECRET, headers, body.replace('7', '8'), 1_700_000_010)).toBe(false);
    expect(verifyDelivery(new TextEncoder().encode('another-secret-0123456789'), headers, body, 1_700_000_010)).toBe(false);
    expect(verifyDelivery(SECRET, { ...headers, timestamp: '1700000001' }, body, 1_700_000_010)).toBe(false);
    // A delivery replayed an hour later is refused, however well signed.
    expect(verifyDelivery(SECRET, headers, body, 1_700_003_600)).toBe(false);
  });
});
