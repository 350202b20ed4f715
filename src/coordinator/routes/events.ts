import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../../shared/clock.ts';
import { ApiError } from '../../shared/errors.ts';
import { EventParams, EventQuery, HealthStatus, SelectedEvent } from '../monitor/event-schemas.ts';
import { toHealthStatus, toSelectedEvent } from '../monitor/event-view.ts';
import { MAX_EVENTS } from '../monitor/retention.ts';
import type { Store } from '../store/store.ts';
import { errorResponses } from './error-schemas.ts';

/** Seed 004 (Feldera): cluster monitor events and the cluster health derived from them. */
export const eventRoutes: FastifyPluginAsyncTypebox<{ store: Store; clock: Clock }> = async (app, { store, clock }) => {
  const tags = ['Platform'];
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-cache');
  });

  app.get('/v0/cluster/events', {
    config: { permission: 'read' },
    schema: { tags, operationId: 'list_cluster_events', response: { 200: Type.Array(SelectedEvent), ...errorResponses(401, 403, 500) } },
    handler: async () => (await store.listEvents(MAX_EVENTS)).map((event) => toSelectedEvent(event, 'status')),
  });

  app.get('/v0/cluster/events/:event_id', {
    config: { permission: 'read' },
    schema: {
      tags,
      operationId: 'get_cluster_event',
      params: EventParams,
      querystring: EventQuery,
      response: { 200: SelectedEvent, ...errorResponses(400, 401, 403, 404, 500) },
    },
    handler: async (request) => {
      const id = request.params.event_id.toLowerCase();
      const event = id === 'latest' ? (await store.listEvents(1))[0] : await store.getEvent(id);
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
    schema: { tags, operationId: 'get_cluster_health', response: { 200: HealthStatus, 503: HealthStatus, ...errorResponses(401, 403) } },
    handler: async (_request, reply) => {
      const health = toHealthStatus(await store.listEvents(MAX_EVENTS), clock.now());
      return reply.code(health.all_healthy ? 200 : 503).send(health);
    },
  });
};
