import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify';
import type { Counter } from 'prom-client';
import type { RequestDurations, RouteTimer } from '../metrics/request-durations.ts';
import { toApiError } from './error-handler.ts';

export interface RequestMetrics {
  durations: RequestDurations;
  /** Failed requests by the API's error code (StoreUnavailable: the store could not be reached). */
  errors: Counter<'code'>;
}

/** A stream's duration is its connection's lifetime, not an answer's latency: it would only blur the routes' percentiles. */
const STREAMS = new Set(['/api/v1/watch']);

type OnResponse = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/**
 * Times every route's requests by its pattern, method and status class, and counts failures by
 * error code. Install before the routes: each route resolves its timers once, as it is
 * registered, and its own onResponse hook observes with no lookup by URL. Per request, heartbeats
 * included, that hook costs Fastify's hook runner, a map lookup by method and the histogram's
 * few comparisons, a fraction of a microsecond against the tens a request costs end to end.
 * Fastify has already recorded when the answer finished (`reply.elapsedTime` reads it). Requests
 * matching no route (404) are not timed: their paths are whatever a client sent.
 */
export function installRequestMetrics(app: FastifyInstance, metrics: RequestMetrics): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    if (STREAMS.has(route.url)) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const timers = new Map<string, RouteTimer>(methods.map((method) => [method, metrics.durations.timer(route.url, method)]));
    const observe: OnResponse = (request, reply, done) => {
      timers.get(request.method)?.observe(reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    const own = route.onResponse;
    route.onResponse = own === undefined ? [observe] : [...(Array.isArray(own) ? own : [own]), observe];
  });
  // Runs only for a failure, before the error handler answers it.
  app.addHook('onError', (_request, _reply, error, done) => {
    metrics.errors.inc({ code: toApiError(error).code });
    done();
  });
}
