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
  ['post', '/api/v1/actions/invoke/coordinator_LiftSafetyHolds'],
  ['post', '/runtime/api/v1/clusters'],
  ['get', '/api/v2/instances/'],
  ['post', '/api/v2/instances/'],
  ['get', '/api/v2/instances/{id}/'],
  ['patch', '/api/v2/instances/{id}/'],
  ['delete', '/api/v2/instances/{id}/'],
  ['get', '/api/v2/instances/{id}/history/'],
  ['get', '/api/v2/instances/{id}/health_check/'],
  ['post', '/api/v2/instances/{id}/health_check/'],
  ['get', '/v0/cluster/events'],
  ['get', '/v0/cluster/events/{event_id}'],
  ['get', '/v0/cluster_healthz'],
  ['get', '/healthz'],
  ['get', '/readyz'],
  ['get', '/metrics'],
  ['get', '/openapi.json'],
] as const;

describe('GET /openapi.json', () => {
  let h: Harness;
  let doc: any;
  beforeAll(async () => {
    h = await startHarness();
    doc = (await request(h, 'GET', '/openapi.json', null)).body;
  });
  afterAll(async () => h.close());

  it('describes every route of the coordinator, /metrics and itself included, without a token', () => {
    expect(doc.openapi).toMatch(/^3\./);
    const described = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item as object).map((method) => `${method} ${path}`));
    expect(described.sort()).toEqual(OPERATIONS.map(([method, path]) => `${method} ${path}`).sort());
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content)).toEqual(['text/plain; version=0.0.4; charset=utf-8']);
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

  it('carries the limits checked on seed 001’s limit and seed 003’s capacity_adjustment: the document refuses what the server refuses', async () => {
    const ajv = new Ajv.default({ strict: false });
    const bodySchema = (path: string) => ajv.compile(doc.paths[path].post.requestBody.content['application/json'].schema);
    const clusters = bodySchema('/runtime/api/v1/clusters');
    for (const limit of [1, 100, '50', ' 7 ', 0, 101, '0', '101', 'ten', 2.5, true]) {
      const status = (await request(h, 'POST', '/runtime/api/v1/clusters', ADMIN, { limit })).status;
      expect(clusters({ limit }), `limit ${JSON.stringify(limit)}`).toBe(status === 200);
    }
    const instances = bodySchema('/api/v2/instances/');
    let serial = 0;
    for (const capacity_adjustment of [0, 1, 0.5, '0.25', '1.00', '.5', 1.5, -0.5, '1.01', '0.125', 'lots', true]) {
      const body = { hostname: `limits-${++serial}`, capacity_adjustment };
      const status = (await request(h, 'POST', '/api/v2/instances/', ADMIN, body)).status;
      expect(instances(body), `capacity_adjustment ${JSON.stringify(capacity_adjustment)}`).toBe(status === 201);
    }
  });

  it('marks a request body required only where an absent body is refused', async () => {
    const required = (method: 'post' | 'patch', path: string) => doc.paths[path][method].requestBody.required;
    expect(required('post', '/runtime/api/v1/clusters')).toBe(false);
    expect(required('post', '/api/v1/actions/invoke/cluster_CleanupInactiveNodes')).toBe(false);
    expect(required('post', '/api/v2/instances/')).toBe(true);
    expect(required('patch', '/api/v2/instances/{id}/')).toBe(true);
    expect((await request(h, 'POST', '/runtime/api/v1/clusters', ADMIN)).status).toBe(200);
    expect((await request(h, 'POST', '/api/v2/instances/', ADMIN)).status).toBe(400);
    expect((await request(h, 'PATCH', '/api/v2/instances/1/', ADMIN)).status).toBe(400);
  });

  it('documents seed 001’s {"error": ...} body for every error status of the clusters API', () => {
    const responses = doc.paths['/runtime/api/v1/clusters'].post.responses;
    const errors = Object.keys(responses).filter((status) => status !== '200');
    expect(errors.sort()).toEqual(['400', '401', '403', '408', '413', '415', '429', '500', '503']);
    for (const status of errors) expect(Object.keys(responses[status].content['application/json'].schema.properties), status).toEqual(['error']);
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
