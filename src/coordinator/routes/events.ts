import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../../shared/clock.ts';
import { ApiError } from '../../shared/errors.ts';
import { EventParams, EventQuery, HealthStatus, SelectedEvent } from '../monitor/event-schemas.ts';
import { toHealthStatus, toSelectedEvent } from '../monitor/event-view.ts';
import { MAX_EVENTS, isRetained, retainedEvents } from '../monitor/retention.ts';
import type { MonitorEventRecord, Store } from '../store/store.ts';
import { errorResponses } from './error-schemas.ts';

/** The event with this id (or `latest`) while retention keeps it. */
async function findEvent(store: Store, id: string, now: number): Promise<MonitorEventRecord | undefined> {
  const [newest] = await store.listEvents(1);
  if (id === 'latest') return newest;
  const event = await store.getEvent(id);
  return event && isRetained(event, newest, now) ? event : undefined;
}

/** Seed 004 (Feldera): cluster monitor events and the cluster health derived from them. */
export const eventRoutes: FastifyPluginAsyncTypebox<{ store: Store; clock: Clock }> = async (app, { store, clock }) => {
  const tags = ['Platform'];
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-cache');
  });

  app.get('/v0/cluster/events', {
    config: { permission: 'read' },
    schema: { tags, operationId: 'list_cluster_events', response: { 200: Type.Array(SelectedEvent) } },
    handler: async () => retainedEvents(await store.listEvents(MAX_EVENTS), clock.now()).map((event) => toSelectedEvent(event, 'status')),
  });

  app.get('/v0/cluster/events/:event_id', {
    config: { permission: 'read' },
    schema: {
      tags,
      operationId: 'get_cluster_event',
      params: EventParams,
      querystring: EventQuery,
      response: { 200: SelectedEvent, ...errorResponses(404) },
    },
    handler: async (request) => {
      const id = request.params.event_id.toLowerCase();
      const event = await findEvent(store, id, clock.now());
      if (!event) {
        throw new ApiError('EventNotFound', id === 'latest' ? 'No cluster monitor event has been recorded yet' : `Cluster monitor event ${id} does not exist (it may have been cleaned up)`, {
          event_id: request.params.event_id,
        });
      }
      return toSelectedEvent(event, request.query.selector ?? 'status');
    },
  });

  app.get('/v0/cluster_healthz', {
    config: { permission: 'read' },
    schema: { tags, operationId: 'get_cluster_health', response: { 200: HealthStatus, 503: HealthStatus } },
    handler: async (_request, reply) => {
      const now = clock.now();
      const health = toHealthStatus(retainedEvents(await store.listEvents(MAX_EVENTS), now), now);
      return reply.code(health.all_healthy ? 200 : 503).send(health);
    },
  });
};
