import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type Harness, startHarness } from '../../helpers/coordinator-harness.ts';
import { request } from './instances-helpers.ts';

const OPERATIONS = [
  ['post', '/api/v1/actions/invoke/cluster_RegisterNode'],
  ['post', '/api/v1/actions/invoke/cluster_ReportNodeHeartbeat'],
  ['post', '/api/v1/actions/invoke/cluster_DeregisterNode'],
  ['post', '/api/v1/actions/invoke/cluster_GetDetails'],
  ['post', '/api/v1/actions/invoke/cluster_CleanupInactiveNodes'],
  ['post', '/runtime/api/v1/clusters'],
  ['get', '/api/v2/instances/'],
  ['post', '/api/v2/instances/'],
  ['get', '/api/v2/instances/{id}/'],
  ['patch', '/api/v2/instances/{id}/'],
  ['delete', '/api/v2/instances/{id}/'],
  ['get', '/api/v2/instances/{id}/health_check/'],
  ['post', '/api/v2/instances/{id}/health_check/'],
  ['get', '/v0/cluster/events'],
  ['get', '/v0/cluster/events/{event_id}'],
  ['get', '/v0/cluster_healthz'],
  ['get', '/healthz'],
  ['get', '/readyz'],
] as const;

describe('GET /openapi.json', () => {
  let h: Harness;
  let doc: any;
  beforeAll(async () => {
    h = await startHarness();
    doc = (await request(h, 'GET', '/openapi.json', null)).body;
  });
  afterAll(async () => h.close());

  it('describes every route of the coordinator, without a token', () => {
    expect(doc.openapi).toMatch(/^3\./);
    for (const [method, path] of OPERATIONS) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });

  it('takes the request limits from the schemas that validate requests', () => {
    const create = doc.paths['/api/v2/instances/'].post.requestBody.content['application/json'].schema;
    expect(create.properties.hostname).toMatchObject({ minLength: 1, maxLength: 250 });
    expect(create.required).toEqual(['hostname']);
    const list = doc.paths['/api/v2/instances/'].get.parameters.find((p: { name: string }) => p.name === 'page_size');
    expect(list.schema).toMatchObject({ maximum: 200, default: 25 });
    const selector = doc.paths['/v0/cluster/events/{event_id}'].get.parameters.find((p: { name: string }) => p.name === 'selector');
    expect(selector.schema.enum).toEqual(['all', 'status']);
  });

  it('marks token-protected operations with the bearer scheme and leaves probes open', () => {
    expect(doc.components.securitySchemes.bearerToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/api/v2/instances/'].get.security).toEqual([{ bearerToken: [] }]);
    expect(doc.paths['/healthz'].get.security).toBeUndefined();
  });

  it('documents response schemas that real responses satisfy', async () => {
    await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'web-1' });
    const ajv = new Ajv.default({ strict: false });
    addFormats.default(ajv);
    const page = (await request(h, 'GET', '/api/v2/instances/')).body;
    const schema = doc.paths['/api/v2/instances/'].get.responses['200'].content['application/json'].schema;
    expect(ajv.validate(schema, page), JSON.stringify(ajv.errors)).toBe(true);
  });
});
