import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, type ErrorBody } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { isStoreUnavailable } from '../store/store-unavailable.ts';
import { problemsOf } from './validation.ts';

/** Translates every failure into `{error_code, message, details}`; unexpected ones are logged in full. */
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
      return new ApiError('PayloadTooLarge', error.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('UnsupportedMediaType', error.message);
  }
  if (error instanceof SyntaxError || error.statusCode === 400) return new ApiError('InvalidRequest', error.message);
  if (error.statusCode === 413) return new ApiError('PayloadTooLarge', error.message);
  if (error.statusCode === 415) return new ApiError('UnsupportedMediaType', error.message);
  return new ApiError('InternalError');
}

/** Seed 001's API answers every failure as `{"error": "..."}`, an unknown path or method under it included. */
const PLAIN_ERRORS = /^\/runtime\/api\/v1(\/|\?|$)/;

/** The error body the request's API uses. */
function errorBody(request: FastifyRequest, error: ApiError): ErrorBody | { error: string } {
  return PLAIN_ERRORS.test(request.url) ? { error: error.message } : error.toBody();
}

export function installErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.code === 'StoreUnavailable') {
      logger.warn('store unavailable', { requestId: request.id, method: request.method, url: request.url, error: error.message });
    } else if (apiError.status >= 500 && !(error instanceof ApiError)) {
      logger.error('unexpected error', { requestId: request.id, method: request.method, url: request.url, error });
    }
    void reply.code(apiError.status).send(errorBody(request, apiError));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError('NotFound', `No route ${request.method} ${request.url.split('?')[0]}`);
    void reply.code(error.status).send(errorBody(request, error));
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

/** JSON bodies; an absent or empty body is `{}` so seed 000's "No fields" actions accept a bare POST. */
export function installJsonParser(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.method === 'POST') request.body = {};
  });
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, {});
      return;
    }
    parse(request, text, done);
  });
}
