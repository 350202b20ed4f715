import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance, HTTPMethods, RouteOptions } from 'fastify';
import { answersPlainErrors } from '../http/error-handler.ts';

/** `{error_code, message, details}`: the error body of every route but seed 001's. */
export const ErrorBody = Type.Object({
  error_code: Type.String(),
  message: Type.String(),
  details: Type.Object({}, { additionalProperties: true }),
});

/** Seed 001's error body, `{"error": "..."}`. */
export const PlainError = Type.Object({ error: Type.String() });

/** Response schemas for the given error statuses. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody]));
}

/** Methods whose body Fastify reads (it ignores a GET's or HEAD's). */
const BODY_METHODS: readonly string[] = ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * The error statuses a route may answer whatever its handler does: 400 (an HTTP/1.1 request
 * without Host, a malformed body or path parameter), 500 (a bug), 503 (shutting down, the store
 * unreachable); with a token, 401, 403 and 429 (too many failed authentications from the
 * client's address); with a body, 408 (not received in time), 413 and 415.
 */
function statusesAroundHandler(method: HTTPMethods, permission: unknown): number[] {
  const statuses = [400, 500, 503];
  if (permission) statuses.push(401, 403, 429);
  if (BODY_METHODS.includes(method)) statuses.push(408, 413, 415);
  return statuses;
}

/**
 * Adds those statuses to every route's response schemas, in the error body of its API, so the
 * OpenAPI document lists every answer and each one is serialized by a schema it fits (a status a
 * route answers with its own body too, as /readyz's 503, accepts either). Install before the
 * OpenAPI document and the routes.
 */
export function installResponsesAroundHandlers(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const error = answersPlainErrors(route.url) ? PlainError : ErrorBody;
    const response: Record<string, TSchema> = { ...((route.schema?.response ?? {}) as Record<string, TSchema>) };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const status of new Set(methods.flatMap((method) => statusesAroundHandler(method, route.config?.permission)))) {
      const declared = response[status];
      response[status] = declared === undefined || declared === error ? error : Type.Union([declared, error]);
    }
    route.schema = { ...route.schema, response };
  });
}
