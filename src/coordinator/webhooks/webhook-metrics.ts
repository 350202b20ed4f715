import { Counter, Gauge, type Registry } from 'prom-client';
import type { WebhookOutbox } from '../store/outbox.ts';
import type { DeliveryOutcome } from './webhook-delivery.ts';

export interface WebhookMetrics {
  /** One per attempt, by sink and outcome. */
  deliveries: Counter<'sink' | 'outcome'>;
}

/**
 * The webhook metrics, registered beside the coordinator's own: attempts by sink and outcome, and
 * each sink's undelivered events, read from the store's outbox when scraped (the same figure on
 * every replica).
 */
export function registerWebhookMetrics(registry: Registry, parts: { outbox: Pick<WebhookOutbox, 'depth'>; sinks: readonly string[] }): WebhookMetrics {
  const deliveries = new Counter({
    name: 'nodepulse_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by sink and outcome: delivered (a 2xx), rejected (another status), unreachable (no answer in time, refused, reset)',
    labelNames: ['sink', 'outcome'],
    registers: [registry],
  });
  const outcomes: DeliveryOutcome['outcome'][] = ['delivered', 'rejected', 'unreachable'];
  for (const sink of parts.sinks) for (const outcome of outcomes) deliveries.inc({ sink, outcome }, 0);
  new Gauge({
    name: 'nodepulse_webhook_outbox_depth',
    help: 'Events waiting in the outbox for each webhook sink (undelivered, retrying or not yet due)',
    labelNames: ['sink'],
    registers: [registry],
    async collect() {
      // A store that does not answer leaves the last figures; /readyz tells the outage.
      const depth = await parts.outbox.depth().catch(() => undefined);
      if (!depth) return;
      for (const sink of parts.sinks) this.set({ sink }, depth.get(sink) ?? 0);
    },
  });
  return { deliveries };
}
