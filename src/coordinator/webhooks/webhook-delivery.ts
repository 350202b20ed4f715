import { VERSION } from '../../shared/version.ts';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signDelivery } from './webhook-signature.ts';
import type { WebhookSink } from './webhook-settings.ts';

/** One event for one sink: its body is the event's JSON exactly as the watch stream sends it. */
export interface DeliveryRequest {
  sink: WebhookSink;
  eventId: number;
  body: string;
  /** This attempt's number, from 1. */
  attempt: number;
  /** When it is sent, on the coordinator's clock: its X-Nodepulse-Timestamp. */
  now: number;
}

/** delivered: a 2xx; rejected: another status; unreachable: no answer (refused, reset, timed out). */
export type DeliveryOutcome = { outcome: 'delivered'; status: number } | { outcome: 'rejected'; status: number; error: string } | { outcome: 'unreachable'; error: string };

/** Sends one delivery; `signal` aborts it when the coordinator stops. Never throws. */
export type Deliver = (request: DeliveryRequest, signal: AbortSignal) => Promise<DeliveryOutcome>;

/** The signed request's headers. */
export function deliveryHeaders(request: DeliveryRequest): Record<string, string> {
  const timestamp = Math.floor(request.now / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': `nodepulse-coordinator/${VERSION}`,
    [EVENT_ID_HEADER]: String(request.eventId),
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: signDelivery(request.sink.secret, timestamp, request.body),
    'x-nodepulse-attempt': String(request.attempt),
  };
}

/**
 * A POST with node's fetch, given up after `timeoutMs`. Redirects are not followed (a 3xx is a
 * failure like any non-2xx): the signed event goes only where the config says. The answer's body
 * is not read.
 */
export function httpDeliver(timeoutMs: number): Deliver {
  return async (request, signal) => {
    try {
      const response = await fetch(request.sink.url, {
        method: 'POST',
        headers: deliveryHeaders(request),
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { outcome: 'delivered', status: response.status };
      return { outcome: 'rejected', status: response.status, error: `answered ${response.status}` };
    } catch (error) {
      return { outcome: 'unreachable', error: failureText(error, timeoutMs, request.sink.url) };
    }
  };
}

/** One line, without the URL's path or query (they may carry a token of the receiving service). */
function failureText(error: unknown, timeoutMs: number, url: URL): string {
  const { name, cause } = error as { name?: string; cause?: { code?: string; message?: string } };
  if (name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (name === 'AbortError') return 'aborted: the coordinator is stopping';
  // The fetch standard blocks a few ports (6000, 6665-6669, …) whatever the server: say which, and the fix.
  if (cause?.message === 'bad port') return `fetch refuses port ${url.port} (a port the fetch standard blocks): give the sink another port`;
  return cause?.code ?? cause?.message ?? String((error as Error).message ?? error);
}
