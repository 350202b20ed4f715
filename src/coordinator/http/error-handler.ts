import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorBody, errorBody } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { isStoreUnavailable } from '../store/store-unavailable.ts';
import { OVERSIZE_DISCARD_BYTES, discardBody } from './discard-body.ts';
import { problemsOf } from './validation.ts';

/** Fastify's limit on a path parameter (its maxParamLength default), named in the refusal. */
export const MAX_PARAM_LENGTH = 100;

/**
 * Translates every failure into `{error_code, message, details}`; unexpected ones are logged in
 * full. Messages never quote the request (its path, headers or body): they name what is wrong.
 */
export function toApiError(error: FastifyError): ApiError {
  if (error instanceof ApiError) return error;
  if (isStoreUnavailable(error)) return new ApiError('StoreUnavailable', undefined, { retryable: true });
  if (error.validation) {
    const part = error.validationContext ?? 'body';
    const problems = problemsOf(error.validation, part);
    const summary = problems.map((problem) => `${problem.path} ${problem.message}`).join('; ');
    return new ApiError('InvalidRequest', `Invalid ${part}: ${summary}`, { problems });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('MalformedJson', `The request body is not valid JSON: ${error.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PayloadTooLarge');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('UnsupportedMediaType');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('MalformedHttp', 'The request body does not match its Content-Length');
    case 'FST_ERR_BAD_URL':
      return new ApiError('InvalidRequest', 'Invalid params: the path is not valid (a malformed percent-encoding?)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError('InvalidRequest', `Invalid params: a path parameter is longer than ${MAX_PARAM_LENGTH} characters`);
  }
  if (error instanceof SyntaxError || error.statusCode === 400) return new ApiError('InvalidRequest', error.message);
  if (error.statusCode === 413) return new ApiError('PayloadTooLarge');
  if (error.statusCode === 415) return new ApiError('UnsupportedMediaType');
  return new ApiError('InternalError');
}

/** Seed 001's API answers every failure as `{"error": "..."}`, an unknown path or method under it included. */
const PLAIN_ERRORS = /^\/runtime\/api\/v1(\/|\?|$)/;

/** Whether a request target (or a route's path) belongs to seed 001's API and its `{"error": "..."}` bodies. */
export function answersPlainErrors(target: string): boolean {
  return PLAIN_ERRORS.test(target);
}

/** The error body of the API a request target belongs to; the default API's when it is unknown (an unreadable request). */
export function errorBodyFor(target: string | undefined, error: Parameters<typeof errorBody>[0]): ErrorBody | { error: string } {
  return target !== undefined && answersPlainErrors(target) ? { error: error.message } : errorBody(error);
}

/**
 * Answers a failure of a route, or of the framework before a route ran (a bad URL, an overlong
 * path parameter: Fastify's frameworkErrors). An oversized body is read on, up to a bound, before
 * the 413 goes out and the connection closes: a client still writing when the server closes gets
 * a reset instead of the answer.
 */
export function errorAnswerer(logger: Logger) {
  return async (error: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const apiError = toApiError(error);
    // A client gone (it hung up, or its request was answered 408 below the routes) fails its request
    // with a reset that is neither a store outage nor a bug; the answer then goes nowhere.
    if (request.raw.socket?.destroyed) {
      logger.debug('request abandoned by its client', { requestId: request.id, method: request.method, url: request.url });
    } else if (apiError.code === 'StoreUnavailable') {
      logger.warn('store unavailable', { requestId: request.id, method: request.method, url: request.url, error: error.message });
    } else if (apiError.status >= 500 && !(error instanceof ApiError)) {
      logger.error('unexpected error', { requestId: request.id, method: request.method, url: request.url, error });
    }
    if (apiError.code === 'PayloadTooLarge') {
      await discardBody(request.raw, OVERSIZE_DISCARD_BYTES);
      void reply.header('connection', 'close');
    }
    return reply.code(apiError.status).send(errorBodyFor(request.url, apiError));
  };
}

/** The answer to a method and path no route serves. */
export function noRoute(): ApiError {
  return new ApiError('NotFound', 'No route matches this method and path');
}

export function installErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler(errorAnswerer(logger));
  app.setNotFoundHandler((request, reply) => {
    const error = noRoute();
    void reply.code(error.status).send(errorBodyFor(request.url, error));
  });
}

/**
 * While the server closes, a request that still arrives (pipelined, or on a kept-alive
 * connection) is answered 503 ShuttingDown in the usual error body, not Fastify's own 503 body
 * (its return503OnClosing stays off). Install before the auth hook: no token lookup then.
 */
export function installClosingGuard(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // A callback hook: every request passes here, heartbeats included, and a promise each would cost.
  app.addHook('onRequest', (_request, _reply, done) => done(closing ? new ApiError('ShuttingDown') : undefined));
}

/**
 * What no store keeps: NUL (PostgreSQL's text and jsonb cannot hold it) and an unpaired surrogate
 * (no text at all; PostgreSQL's json refuses its escape). A JSON body can carry them only escaped,
 * so its text is tested for the escapes before the parsed body is searched.
 */
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/i;
const UNSTORABLE = /\u0000|\p{Surrogate}/u;
const UNSTORABLE_RULE = 'must not contain NUL (U+0000) or an unpaired surrogate';

/** Where the first string (or key) holding such a character is in a parsed body, as validation names a field; undefined when none does. */
function unstorablePath(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path || 'body' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const itemPath = path ? `${path}.${key}` : key;
    const found = UNSTORABLE.test(key) ? itemPath : unstorablePath(item, itemPath);
    if (found !== undefined) return found;
  }
  return undefined;
}

function refuseUnstorable(path: string): ApiError {
  return new ApiError('InvalidRequest', `Invalid body: ${path} ${UNSTORABLE_RULE}`, { problems: [{ path, message: UNSTORABLE_RULE }] });
}

/** JSON bodies; an absent or empty body is `{}` so seed 000's "No fields" actions accept a bare POST. */
export function installJsonParser(app: FastifyInstance): void {
  // A callback hook: every heartbeat passes here, and a promise each would cost.
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && request.method === 'POST') request.body = {};
    done();
  });
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, {});
      return;
    }
    parse(request, text, (error: Error | null, body?: unknown) => {
      const unstorable = error || !UNSTORABLE_ESCAPE.test(text) ? undefined : unstorablePath(body);
      if (unstorable !== undefined) done(refuseUnstorable(unstorable), undefined);
      else done(error, body);
    });
  });
}
