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

/** Checks the token and role of every route that declares a permission, before its body is read. */
export function installAuth(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config.permission;
    if (!permission) return;
    const principal = await authenticator.authenticate(request.headers.authorization, permission);
    if (!allows(principal, permission)) {
      throw new ApiError('Forbidden', `This token (${principal.kind === 'node' ? 'node' : principal.role}) may not ${permission === 'read' ? 'read' : `act as ${permission}`} here`);
    }
    request.principal = principal;
  });
}

/** The authenticated caller of a route that declared a permission. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError('Unauthorized');
  return request.principal;
}
