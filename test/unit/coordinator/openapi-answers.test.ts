import { connect } from 'node:net';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION, ADMIN, ENROLL, type Harness, READER, listenHoldingClusterLookups, startHarness } from '../../helpers/coordinator-harness.ts';
import { waitFor } from '../../helpers/spawn-process.ts';
import { recorderFor } from './events-helpers.ts';

/**
 * Every route, called with valid and invalid input: each answer's status must be in /openapi.json
 * for its operation, and its body must match the schema the document gives for that status.
 */

interface Call {
  token?: string | undefined;
  /** Path parameters by name. */
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: string | undefined;
  contentType?: string;
}

interface Operation {
  key: string;
  method: string;
  path: string;
  spec: {
    security?: unknown[];
    requestBody?: unknown;
    parameters?: { in: string; name: string; schema: Record<string, unknown> }[];
    responses: Record<string, { content?: Record<string, { schema: object }> }>;
  };
}

const BODY_LIMIT = 4096;
const json = (value: unknown) => JSON.stringify(value);

let h: Harness;
let doc: { paths: Record<string, Record<string, Operation['spec']>> };
let operations: Operation[];
let serial = 0;
const ajv = new Ajv.default({ strict: false, allErrors: true });
addFormats.default(ajv);

async function register(): Promise<{ nodeId: string; nodeToken: string }> {
  return h.register({ name: `walk-${++serial}`, identity: `walk-identity-${serial}`, hostname: `walk-${serial}` });
}

async function instance(): Promise<string> {
  const response = await h.coordinator.app.inject({
    method: 'POST',
    url: '/api/v2/instances/',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    payload: json({ hostname: `walk-instance-${++serial}` }),
  });
  return String(JSON.parse(response.body).id);
}

/** A valid request for each operation, building what it needs (a node, an instance) afresh. */
const VALID: Record<string, () => Promise<Call>> = {
  'post /api/v1/actions/invoke/cluster_RegisterNode': async () => ({ token: ENROLL, body: json({ name: `walk-new-${++serial}`, labels: { zone: 'a' } }) }),
  'post /api/v1/actions/invoke/cluster_ReportNodeHeartbeat': async () => ({ token: (await register()).nodeToken, body: json({ agent: { eventLoopDelayMs: 1, rssBytes: 1 } }) }),
  'post /api/v1/actions/invoke/cluster_DeregisterNode': async () => ({ token: (await register()).nodeToken, body: json({ reason: 'Shutdown' }) }),
  'post /api/v1/actions/invoke/cluster_GetDetails': async () => ({ token: READER, body: json({ includeTerminated: true }) }),
  'post /api/v1/actions/invoke/cluster_CleanupInactiveNodes': async () => ({ token: ADMIN }),
  'post /api/v1/actions/invoke/coordinator_LiftSafetyHolds': async () => ({ token: ADMIN }),
  'post /runtime/api/v1/clusters': async () => ({ token: ADMIN, body: json({ limit: '10', include_nodes: true }) }),
  'get /api/v2/instances/': async () => ({ token: READER, query: { node_state: 'ready' } }),
  'post /api/v2/instances/': async () => ({ token: ADMIN, body: json({ hostname: `walk-created-${++serial}`, capacity_adjustment: '0.5' }) }),
  'get /api/v2/instances/{id}/': async () => ({ token: READER, params: { id: await instance() } }),
  'patch /api/v2/instances/{id}/': async () => ({ token: ADMIN, params: { id: await instance() }, body: json({ enabled: false }) }),
  'delete /api/v2/instances/{id}/': async () => ({ token: ADMIN, params: { id: await instance() } }),
  'get /api/v2/instances/{id}/history/': async () => ({ token: READER, params: { id: await instance() } }),
  'get /api/v2/instances/{id}/health_check/': async () => ({ token: READER, params: { id: await instance() } }),
  'post /api/v2/instances/{id}/health_check/': async () => ({ token: ADMIN, params: { id: await instance() } }),
  'get /v0/cluster/events': async () => ({ token: READER }),
  'get /v0/cluster/events/{event_id}': async () => ({ token: READER, params: { event_id: 'latest' }, query: { selector: 'all' } }),
  'get /v0/cluster_healthz': async () => ({ token: READER }),
  'get /healthz': async () => ({}),
  'get /readyz': async () => ({}),
  'get /metrics': async () => ({}),
  'get /openapi.json': async () => ({}),
};

/** Values a parameter's schema refuses. */
function refusedValues(schema: Record<string, unknown>): string[] {
  if (Array.isArray(schema.enum)) return ['bogus'];
  if (schema.type === 'integer') return ['0', 'abc', '1.5', '-1', '9'.repeat(30)];
  if (typeof schema.pattern === 'string') return ['!!', '\u202e'];
  if (typeof schema.maxLength === 'number') return ['x'.repeat(schema.maxLength + 1)];
  return [];
}

/** Requests that the server must refuse, derived from what the document says of the operation. */
function invalidCalls(operation: Operation, valid: Call): Call[] {
  const calls: Call[] = [];
  if (operation.spec.security) {
    // 401 for no token or an unknown one, 403 for a role that may not: every token is tried.
    for (const token of [undefined, 'np_unknown_0123456789', `npn_00000000-0000-4000-8000-000000000000_${'0'.repeat(48)}`, READER, ENROLL, ADMIN]) {
      calls.push({ ...valid, token });
    }
  }
  if (operation.spec.requestBody || operation.method !== 'get') {
    calls.push(
      { ...valid, body: '{"name": ' },
      { ...valid, body: '[1, 2]' },
      { ...valid, body: '"text"' },
      { ...valid, body: '{"__proto__": {"admin": true}}' },
      { ...valid, body: json({ padding: 'x'.repeat(BODY_LIMIT) }) },
      { ...valid, body: 'name=a', contentType: 'application/x-www-form-urlencoded' },
      { ...valid, body: json({ name: 42, hostname: ['x'], includeTerminated: 'yes', limit: 0, enabled: 'no', reason: 'Exploded', labels: { 'a\u200f': 'b' } }) },
    );
  }
  for (const parameter of operation.spec.parameters ?? []) {
    const values = [...refusedValues(parameter.schema), 'x'.repeat(121)];
    if (parameter.in === 'path') values.push(parameter.name === 'id' ? '999999' : '00000000-0000-7000-8000-000000000000');
    for (const value of values) {
      if (parameter.in === 'path') calls.push({ ...valid, params: { ...valid.params, [parameter.name]: value } });
      else calls.push({ ...valid, query: { ...valid.query, [parameter.name]: value } });
    }
  }
  return calls;
}

function urlOf(operation: Operation, call: Call): string {
  const path = operation.path.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(call.params?.[name] ?? ''));
  const query = new URLSearchParams(call.query ?? {}).toString();
  return query ? `${path}?${query}` : path;
}

/** The problems of an answer against the document: none when its status is documented for the operation and its body fits. */
function problemsOf(operation: Operation, status: number, contentType: string | undefined, body: string): string[] {
  const documented = operation.spec.responses[String(status)];
  if (!documented) return [`status ${status} is not documented (documented: ${Object.keys(operation.spec.responses).join(', ')}): ${body}`];
  if (!documented.content) return body === '' ? [] : [`status ${status} is documented without a body, but one came: ${body}`];
  const mediaType = (contentType ?? '').split(';')[0]?.trim() ?? '';
  const content = Object.entries(documented.content).find(([type]) => type.split(';')[0]?.trim() === mediaType)?.[1];
  if (!content) return [`${mediaType} is not a documented content type of ${status}`];
  if (mediaType !== 'application/json') return [];
  const validate = ajv.compile(content.schema);
  return validate(JSON.parse(body)) ? [] : [`${status} ${body}: ${ajv.errorsText(validate.errors)}`];
}

async function answer(operation: Operation, call: Call): Promise<{ status: number; problems: string[] }> {
  const response = await h.coordinator.app.inject({
    method: operation.method.toUpperCase() as 'GET',
    url: urlOf(operation, call),
    headers: {
      ...(call.token ? { authorization: `Bearer ${call.token}` } : {}),
      ...(call.body === undefined ? {} : { 'content-type': call.contentType ?? 'application/json' }),
    },
    ...(call.body === undefined ? {} : { payload: call.body }),
  });
  const contentType = response.headers['content-type'];
  return { status: response.statusCode, problems: problemsOf(operation, response.statusCode, typeof contentType === 'string' ? contentType : undefined, response.body) };
}

beforeAll(async () => {
  h = await startHarness({ bodyLimitBytes: BODY_LIMIT });
  await recorderFor(h).check();
  doc = JSON.parse((await h.coordinator.app.inject({ method: 'GET', url: '/openapi.json' })).body);
  operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, spec]) => ({ key: `${method} ${path}`, method, path, spec })));
});
afterAll(async () => h.close());

describe('every answer of every route matches /openapi.json', () => {
  it('has a valid request for every documented operation, and documents every route it has one for', () => {
    expect(operations.map((operation) => operation.key).sort()).toEqual(Object.keys(VALID).sort());
  });

  it('answers valid requests with a documented 2xx whose body fits', async () => {
    for (const operation of operations) {
      const { status, problems } = await answer(operation, await VALID[operation.key]!());
      expect(problems, operation.key).toEqual([]);
      expect(status, operation.key).toBeLessThan(300);
    }
  });

  it('answers invalid requests (tokens, bodies, path and query parameters) with documented errors whose bodies fit', async () => {
    const statuses = new Set<number>();
    for (const operation of operations) {
      const valid = await VALID[operation.key]!();
      for (const call of invalidCalls(operation, valid)) {
        const { status, problems } = await answer(operation, call);
        expect(problems, `${operation.key} ${JSON.stringify({ ...call, body: call.body?.slice(0, 80) })}`).toEqual([]);
        statuses.add(status);
      }
    }
    // The walk reached every kind of refusal, not only the easy ones.
    expect([...statuses].sort()).toEqual(expect.arrayContaining([400, 401, 403, 404, 413, 415]));
  });

  it('says what the server does about optional input: page and page_size may be left out, and are', async () => {
    const list = operations.find((operation) => operation.key === 'get /api/v2/instances/')!;
    const parameters = Object.fromEntries((list.spec.parameters ?? []).map((parameter) => [parameter.name, parameter]));
    expect(parameters.page).toMatchObject({ required: false, schema: { default: 1 } });
    expect(parameters.page_size).toMatchObject({ required: false, schema: { default: 25 } });
    const { status, problems } = await answer(list, { token: READER });
    expect([status, problems]).toEqual([200, []]);
  });

  it('answers every route during shutdown with a documented 503 ShuttingDown, /readyz and /v0/cluster_healthz included', async () => {
    const app = h.coordinator.app;
    // One connection per route, each busy with a request held in the store, so closing leaves it open.
    const { port, release, lookup } = await listenHoldingClusterLookups(h);
    const busy = `POST ${ACTION}cluster_GetDetails HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${READER}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
    const connections = operations.map((operation) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('utf8')));
      const ended = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
      socket.write(busy);
      return { operation, socket, ended };
    });
    const requests = new Map<string, string>();
    for (const operation of operations) {
      const valid = await VALID[operation.key]!();
      const body = valid.body ?? '';
      const headers = ['Host: x', ...(valid.token ? [`Authorization: Bearer ${valid.token}`] : []), 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`];
      requests.set(operation.key, `${operation.method.toUpperCase()} ${urlOf(operation, valid)} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`);
    }
    let closing: Promise<undefined> | undefined;
    try {
      await waitFor(() => lookup.mock.calls.length === operations.length, 20_000, { message: 'every connection busy' });
      closing = app.close();
      await waitFor(() => !app.server.listening, 10_000, { message: 'the server closing' });
      for (const { operation, socket } of connections) socket.write(requests.get(operation.key)!);
    } finally {
      release();
    }
    for (const { operation, ended } of connections) {
      const text = await ended;
      const last = text.slice(text.lastIndexOf('HTTP/1.1 '));
      const status = Number(last.slice(9, 12));
      const contentType = /content-type: ([^\r]+)/i.exec(last)?.[1];
      const body = last.slice(last.indexOf('\r\n\r\n') + 4);
      expect(status, operation.key).toBe(503);
      expect(JSON.parse(body), operation.key).toMatchObject(operation.path.startsWith('/runtime/api/v1/') ? { error: expect.stringContaining('shutting down') } : { error_code: 'ShuttingDown' });
      expect(problemsOf(operation, status, contentType, body), operation.key).toEqual([]);
    }
    await closing;
    lookup.mockRestore();
  });
});
