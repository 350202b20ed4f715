import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../../shared/errors.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { type Permission, type Principal, allows } from '../auth/principal.ts';

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
 * A callback hook: a token memory knows is admitted without a promise (the heartbeat path).
 */
export function installAuth(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', (request, _reply, done) => {
    const permission = request.routeOptions.config.permission;
    if (!permission) return done();
    const admit = (principal: Principal) => {
      if (!allows(principal, permission)) {
        throw new ApiError('Forbidden', `This token (${principal.kind === 'node' ? 'node' : principal.role}) may not ${permission === 'read' ? 'read' : `act as ${permission}`} here`);
      }
      request.principal = principal;
    };
    let pending: Promise<Principal> | undefined;
    let refused: Error | undefined;
    try {
      const result = authenticator.authenticate(request.headers.authorization);
      if (result instanceof Promise) pending = result;
      else admit(result);
    } catch (error) {
      refused = error as Error;
    }
    // done() runs the rest of the request: called outside the try, so a later failure is not taken for ours.
    if (!pending) return done(refused);
    pending.then(admit).then(() => done(), done);
  });
}

/** The authenticated caller of a route that declared a permission. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError('Unauthorized');
  return request.principal;
}
