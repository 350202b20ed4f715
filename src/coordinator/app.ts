import type { ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '../shared/logger.ts';
import type { Authenticator } from './auth/authenticator.ts';
import type { AuthFailureGuard } from './auth/failure-guard.ts';
import { installAuth } from './http/auth-hook.ts';
import { type RequestMetrics, installRequestMetrics } from './http/request-metrics.ts';
import { clientErrorHandler, installProtocolAnswers } from './http/client-errors.ts';
import { errorAnswerer, installClosingGuard, installErrorHandling, installJsonParser, MAX_PARAM_LENGTH } from './http/error-handler.ts';
import { validatorCompiler } from './http/validation.ts';
import type { ClusterService } from './clusters/cluster-service.ts';
import type { HistoryService } from './history/history-service.ts';
import type { InstanceService } from './instances/instance-service.ts';
import type { NodeService } from './node-service.ts';
import { clusterActions } from './routes/cluster-actions.ts';
import { clusterRoutes } from './routes/clusters.ts';
import { eventRoutes } from './routes/events.ts';
import { installResponsesAroundHandlers } from './routes/error-schemas.ts';
import { installOpenApi } from './routes/openapi.ts';
import { instanceRoutes } from './routes/instances.ts';
import { type OpsDeps, opsRoutes } from './routes/ops.ts';
import { watchRoutes } from './routes/watch.ts';
import type { Sweeper } from './sweeper/sweeper.ts';
import type { TransitionFeed } from './watch/transition-feed.ts';
import { uiRoutes } from './ui/ui-routes.ts';

export interface AppDeps extends OpsDeps {
  logger: Logger;
  authenticator: Authenticator;
  /** Counts and limits failed authentications per client address. */
  authFailures: AuthFailureGuard;
  nodes: NodeService;
  sweeper: Sweeper;
  instances: InstanceService;
  history: HistoryService;
  clusters: ClusterService;
  /** Feeds the watch streams from the transitions log. */
  feed: TransitionFeed;
  bodyLimitBytes: number;
  /** The longest a request (headers and body) may take to arrive before it is answered 408. */
  requestReceiveTimeoutMs: number;
  /** TLS options (tls-context.ts): with them the API is served over HTTPS only. */
  https?: HttpsServerOptions | undefined;
  /** Times every route and counts failures for /metrics. */
  requestMetrics: RequestMetrics;
}

/**
 * How often Node looks for requests past their receive deadline (its default, 30 s, would let a
 * slow request hold a connection that much longer): a quarter of the deadline, at most a second.
 */
function deadlineCheckIntervalMs(timeoutMs: number): number {
  return Math.max(25, Math.min(1000, Math.floor(timeoutMs / 4)));
}

/** Builds the HTTP API from its dependencies. It never listens: main.ts and the tests do. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const serverOptions = {
    headersTimeout: deps.requestReceiveTimeoutMs,
    connectionsCheckingInterval: deadlineCheckIntervalMs(deps.requestReceiveTimeoutMs),
    // installProtocolAnswers refuses an HTTP/1.1 request without Host in the API's error shape.
    requireHostHeader: false,
  };
  const app = Fastify({
    bodyLimit: deps.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    requestTimeout: deps.requestReceiveTimeoutMs,
    // Fastify hands an https server only its `https` options: the HTTP ones go along.
    ...(deps.https ? { https: { ...serverOptions, ...deps.https } } : { http: serverOptions }),
    // Errors below the routes are answered in the API's error shapes, not Node's or Fastify's.
    clientErrorHandler: clientErrorHandler(deps.logger),
    frameworkErrors: errorAnswerer(deps.logger),
    // Requests are logged at debug through our own logger; Fastify's pino stays off.
    logger: false,
    // installClosingGuard answers requests during shutdown in the API's error shape instead.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  installJsonParser(app);
  installErrorHandling(app, deps.logger);
  installClosingGuard(app);
  installProtocolAnswers(app);
  installAuth(app, deps.authenticator, deps.authFailures);
  if (deps.logger.isDebugEnabled()) {
    app.addHook('onResponse', async (request, reply) => {
      deps.logger.debug('request', { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) });
    });
  }
  // Before the routes: each route's timer is resolved as it is registered.
  installRequestMetrics(app, deps.requestMetrics);
  installResponsesAroundHandlers(app);
  await installOpenApi(app);
  await app.register(clusterActions, { nodes: deps.nodes, sweeper: deps.sweeper, store: deps.store });
  await app.register(opsRoutes, deps);
  await app.register(instanceRoutes, { instances: deps.instances, history: deps.history });
  await app.register(clusterRoutes, { clusters: deps.clusters });
  await app.register(eventRoutes, { store: deps.store, clock: deps.clock });
  await app.register(watchRoutes, { store: deps.store, feed: deps.feed, logger: deps.logger });
  await app.register(uiRoutes, { logger: deps.logger });
  return app;
}
