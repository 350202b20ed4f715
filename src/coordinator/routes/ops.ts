import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Registry } from 'prom-client';
import type { Clock } from '../../shared/clock.ts';
import { toRfc3339 } from '../../shared/clock.ts';
import { clusterNames } from '../clusters/cluster-names.ts';
import type { Store } from '../store/store.ts';
import type { Sweeper } from '../sweeper/sweeper.ts';

export interface OpsDeps {
  store: Store;
  sweeper: Sweeper;
  clock: Clock;
  metrics: Registry;
  /** False once shutdown began: the load balancer should stop sending requests. */
  accepting: () => boolean;
}

const Readiness = Type.Object({
  ready: Type.Boolean(),
  store: Type.String(),
  /** Whether this replica runs the sweeper (the holds below are the sweeping replica's). */
  sweeping: Type.Boolean(),
  holds: Type.Object({
    /** No node is timed out before this (a timeout plus the agents' backoff cap after the coordinator's own gap). */
    graceUntil: Type.Union([Type.String(), Type.Null()]),
    /** What began the grace: startup, takeover, store outage or stall. */
    graceReason: Type.Union([Type.String(), Type.Null()]),
    massSilence: Type.Array(
      Type.Object({
        cluster: Type.String(),
        since: Type.String(),
        /** The hold ends by itself then (massSilenceMaxHoldSecs), unless the nodes come back first. */
        until: Type.String(),
        /** Nodes silent past the overdue mark plus those timed out within the guard's window. */
        silent: Type.Integer(),
        active: Type.Integer(),
        timedOut: Type.Integer(),
      }),
    ),
  }),
});

/** Probes and metrics: /healthz (the process is alive), /readyz (the store answers), /metrics. */
export const opsRoutes: FastifyPluginAsyncTypebox<OpsDeps> = async (app, deps) => {
  app.get('/healthz', { schema: { tags: ['ops'], response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['ops'], response: { 200: Readiness, 503: Readiness } } }, async (_request, reply) => {
    let storeState = 'ok';
    try {
      await deps.store.ping();
    } catch (error) {
      storeState = `unreachable: ${(error as Error).message}`;
    }
    const holds = deps.sweeper.holds();
    const ready = storeState === 'ok' && deps.accepting();
    const names = storeState === 'ok' ? await clusterNames(deps.store, holds.massSilence.map((hold) => hold.clusterId)) : [];
    return reply.code(ready ? 200 : 503).send({
      ready,
      store: storeState,
      sweeping: holds.sweeping,
      holds: {
        graceUntil: holds.graceUntil === null ? null : toRfc3339(holds.graceUntil),
        graceReason: holds.graceWhy,
        massSilence: holds.massSilence.map((hold, index) => ({
          cluster: names[index] ?? String(hold.clusterId),
          since: toRfc3339(hold.since),
          until: toRfc3339(hold.until),
          silent: hold.silent,
          active: hold.active,
          timedOut: hold.timedOut,
        })),
      },
    });
  });

  const metricsSchema = {
    tags: ['ops'],
    operationId: 'metrics',
    description: 'Prometheus metrics in the text exposition format',
    response: { 200: { description: 'Prometheus text format', content: { [deps.metrics.contentType]: { schema: Type.String() } } } },
  };
  app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
};
