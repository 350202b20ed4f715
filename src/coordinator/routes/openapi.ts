import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { VERSION } from '../../shared/version.ts';

const SECURITY_SCHEME = 'bearerToken';

/** The parts of the generated document that markOptional reads. */
interface OperationParts {
  requestBody?: { required?: boolean; content: Record<string, { schema?: { required?: string[] } }> };
  parameters?: { required?: boolean; in: string; schema?: { default?: unknown } }[];
}
interface RequestDescriptions {
  paths?: Record<string, Record<string, OperationParts>>;
}

/**
 * What a request may leave out, as the server accepts it. @fastify/swagger marks every body
 * required, and every query parameter the schema lists as required, defaults included. A POST
 * body with no required field may be left out (the JSON parser reads an absent POST body as `{}`:
 * seed 000's "No fields" actions, seed 001's clusters); a parameter with a default may be left
 * out (the default applies: `page`, `page_size`).
 */
function markOptional<T extends RequestDescriptions>(document: T): T {
  for (const operations of Object.values(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      const body = operation.requestBody;
      const schema = body?.content['application/json']?.schema;
      if (method === 'post' && body && schema && !schema.required?.length) body.required = false;
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in !== 'path' && parameter.schema?.default !== undefined) parameter.required = false;
      }
    }
  }
  return document;
}

/**
 * The OpenAPI document, generated from the same route schemas that validate requests. Must be
 * installed before the routes it describes. Served at GET /openapi.json, which it describes too.
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
    transformObject: (documents) => ('openapiObject' in documents ? markOptional(documents.openapiObject as RequestDescriptions & typeof documents.openapiObject) : documents.swaggerObject),
  });
  app.get(
    '/openapi.json',
    {
      schema: {
        tags: ['ops'],
        operationId: 'openapi_document',
        description: 'This OpenAPI 3.0 document, generated from the schemas that validate requests',
        response: { 200: { description: 'The OpenAPI document', type: 'object', additionalProperties: true } },
      },
    },
    async () => app.swagger(),
  );
}
