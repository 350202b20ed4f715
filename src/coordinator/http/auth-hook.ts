import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { ApiError, ERROR_CODES } from '../../shared/errors.ts';
import { AuthenticationFailure } from '../auth/authentication-failure.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { AuthFailureGuard } from '../auth/failure-guard.ts';
import { type Permission, type Principal, allows } from '../auth/principal.ts';
import { errorBodyFor } from './error-handler.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the caller must be allowed to do; routes without it are public (health probes). */
    permission?: Permission;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

/**
 * Checks the token and role of every route that declares a permission, before its body is read.
 * The check is attached to those routes alone when they are added (onRoute), so it knows its
 * permission without reading the route's options on each request, and a public route runs none.
 * A callback hook: a token memory knows is admitted without a promise or a closure (the
 * heartbeat path). Failed authentications are counted per client address (the socket's: behind a
 * proxy, every client shares the proxy's); past the limit, the address is answered 429 without a
 * store query or a signature check, except for a token memory alone proves valid (a known node, a
 * cached operator token), so agents sharing an address with a prober keep being served.
 */
export function installAuth(app: FastifyInstance, authenticator: Authenticator, failures: AuthFailureGuard): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRoute', (route) => {
    const permission = route.config?.permission;
    if (!permission) return;
    const check = authCheck(permission, authenticator, failures);
    route.onRequest = route.onRequest === undefined ? [check] : [...[route.onRequest].flat(), check];
  });
}

function authCheck(permission: Permission, authenticator: Authenticator, failures: AuthFailureGuard): onRequestHookHandler {
  return (request, reply, done) => {
    const address = request.ip ?? '';
    const retryAfterSecs = failures.throttledFor(address);
    let caller: Principal | Promise<Principal> | undefined;
    try {
      if (retryAfterSecs === undefined) {
        caller = authenticator.authenticate(request.headers.authorization);
      } else {
        caller = authenticator.knownCaller(request.headers.authorization);
        if (!caller) return failures.answerThrottled(() => throttle(request, reply, retryAfterSecs));
      }
      if (!(caller instanceof Promise)) admit(request, caller, permission);
    } catch (error) {
      return refuse(error as Error, address, failures, done);
    }
    // done() runs the rest of the request: called outside the try, so a later failure is not taken for ours.
    if (!(caller instanceof Promise)) return done();
    caller.then((principal) => admit(request, principal, permission)).then(
      () => done(),
      (error: Error) => refuse(error, address, failures, done),
    );
  };
}

function admit(request: FastifyRequest, principal: Principal, permission: Permission): void {
  if (!allows(principal, permission)) {
    throw new ApiError('Forbidden', `This token (${principal.kind === 'node' ? 'node' : principal.role}) may not ${permission === 'read' ? 'read' : `act as ${permission}`} here`);
  }
  request.principal = principal;
}

function refuse(error: Error, address: string, failures: AuthFailureGuard, done: (error?: Error) => void): void {
  if (error instanceof AuthenticationFailure) failures.failed(address, error.reason);
  done(error);
}

/** 429 with Retry-After in the error body of the route's API, built without an Error (and its stack); nothing to a client gone meanwhile. */
function throttle(request: FastifyRequest, reply: FastifyReply, retryAfterSecs: number): void {
  if (request.raw.socket?.destroyed) return;
  const refusal = { code: 'TooManyRequests', message: `Too many failed authentications from this address; retry in ${retryAfterSecs} s`, details: { retryAfterSecs } } as const;
  void reply.code(ERROR_CODES.TooManyRequests.status).header('retry-after', String(retryAfterSecs)).send(errorBodyFor(request.url, refusal));
}

/** The authenticated caller of a route that declared a permission. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError('Unauthorized');
  return request.principal;
}
