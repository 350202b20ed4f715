import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { VERSION } from '../../shared/version.ts';

const SECURITY_SCHEME = 'bearerToken';

/**
 * The OpenAPI document, generated from the same route schemas that validate requests. Must be
 * installed before the routes it describes. Served at GET /openapi.json.
 */
export async function installOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'nodepulse coordinator',
        version: VERSION,
        description: 'Agent protocol (seed 000), clusters (001), instances (002/003), cluster monitor events (004) and probes.',
      },
      components: {
        securitySchemes: { [SECURITY_SCHEME]: { type: 'http', scheme: 'bearer', description: 'An admin, reader, enroll or node token' } },
      },
    },
    // Routes that declare a permission need a bearer token: say so per operation.
    transform: ({ schema, url, route }) => {
      const permission = route.config?.permission;
      if (!permission || !schema) return { schema, url };
      const described = { ...schema, security: [{ [SECURITY_SCHEME]: [] }] } as FastifySchema;
      return { schema: described, url };
    },
  });
  app.get('/openapi.json', { schema: { hide: true } as FastifySchema }, async () => app.swagger());
}
