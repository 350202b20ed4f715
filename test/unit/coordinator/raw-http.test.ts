import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVERSIZE_DISCARD_BYTES } from '../../../src/coordinator/http/discard-body.ts';
import { ERROR_CODES } from '../../../src/shared/errors.ts';
import { ADMIN, ENROLL, type Harness, startHarness } from '../../helpers/coordinator-harness.ts';
import { type RawAnswer, RawConnection, rawExchange } from '../../helpers/raw-http.ts';

/**
 * What reaches the coordinator below its routes, sent as raw bytes over TCP: malformed HTTP,
 * requests that arrive too slowly, bodies over the limit. Every answer is in the API's error shape.
 */

const RECEIVE_TIMEOUT_MS = 600;
const BODY_LIMIT = 65_536;
/** Sent inside requests that are refused: no answer may quote it. */
const MARKER = 'quoted-request-marker';

let h: Harness;
let port: number;
beforeAll(async () => {
  h = await startHarness({ bodyLimitBytes: BODY_LIMIT, requestReceiveTimeoutMs: RECEIVE_TIMEOUT_MS });
  await h.coordinator.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.coordinator.app.server.address() as AddressInfo).port;
});
afterAll(async () => h.close());

/** The error_code → status pairs of the README's error table. */
function documentedErrors(): Map<string, number> {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('## Errors'), readme.indexOf('## Configuration'));
  const pairs = new Map<string, number>();
  for (const [, codes = '', status] of table.matchAll(/^\| (`.+?`) \| (\d{3}) \|/gm)) {
    for (const [, code = ''] of codes.matchAll(/`(\w+)`/g)) pairs.set(code, Number(status));
  }
  return pairs;
}

/** The answer is a documented error in the default API's shape, and quotes nothing of the request. */
function expectDocumentedError(answer: RawAnswer, status: number, errorCode: string): void {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(answer.body);
  expect(Object.keys(body).sort()).toEqual(['details', 'error_code', 'message']);
  expect(body.error_code).toBe(errorCode);
  expect(documentedErrors().get(errorCode)).toBe(status);
  expect(answer.body).not.toContain(MARKER);
}

/** The answer is seed 001's `{"error": "..."}`. */
function expectPlainError(answer: RawAnswer, status: number): void {
  expect(answer.status, answer.body).toBe(status);
  expect(Object.keys(JSON.parse(answer.body))).toEqual(['error']);
  expect(answer.body).not.toContain(MARKER);
}

const ACTION = '/api/v1/actions/invoke/cluster_GetDetails';
const authorized = `Authorization: Bearer ${ADMIN}\r\n`;

describe('the error table', () => {
  it('documents every error code of the registry with its status, and no other', () => {
    const registry = new Map(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
    expect(documentedErrors()).toEqual(registry);
  });
});

describe('malformed HTTP is answered in the API error shape, never with Node or Fastify bodies', () => {
  const cases: { what: string; request: string; status: number; code: string }[] = [
    {
      what: 'a path parameter of 121 characters',
      request: `GET /api/v2/instances/${MARKER}${'1'.repeat(121 - MARKER.length)}/ HTTP/1.1\r\nHost: x\r\n${authorized}\r\n`,
      status: 400,
      code: 'InvalidRequest',
    },
    {
      what: 'an event id of 121 characters',
      request: `GET /v0/cluster/events/${MARKER}${'a'.repeat(121 - MARKER.length)} HTTP/1.1\r\nHost: x\r\n${authorized}\r\n`,
      status: 400,
      code: 'InvalidRequest',
    },
    { what: 'a malformed percent-encoding in a path parameter', request: `GET /api/v2/instances/${MARKER}%zz/ HTTP/1.1\r\nHost: x\r\n${authorized}\r\n`, status: 400, code: 'InvalidRequest' },
    { what: 'a duplicate Content-Length', request: `POST ${ACTION} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\nX-Echo: ${MARKER}\r\n\r\n{}`, status: 400, code: 'MalformedHttp' },
    {
      what: 'Content-Length with Transfer-Encoding',
      request: `POST ${ACTION} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      status: 400,
      code: 'MalformedHttp',
    },
    {
      what: 'a bad chunk',
      request: `POST ${ACTION} HTTP/1.1\r\nHost: x\r\n${authorized}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz${MARKER}\r\n{}\r\n0\r\n\r\n`,
      status: 400,
      code: 'MalformedHttp',
    },
    { what: 'a garbage request line', request: `${MARKER} WORLD\r\n\r\n`, status: 400, code: 'MalformedHttp' },
    { what: 'an HTTP/2 preface', request: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', status: 400, code: 'MalformedHttp' },
    { what: 'an unknown HTTP version', request: `GET /healthz HTTP/3.1\r\nHost: x\r\n\r\n`, status: 400, code: 'MalformedHttp' },
    { what: 'a control character in the path', request: `GET /heal\x01thz HTTP/1.1\r\nHost: x\r\n\r\n`, status: 400, code: 'MalformedHttp' },
    { what: 'an HTTP/1.1 request without Host', request: `GET /healthz HTTP/1.1\r\nX-Echo: ${MARKER}\r\n\r\n`, status: 400, code: 'MalformedHttp' },
    { what: 'oversized headers', request: `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${MARKER}${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'HeadersTooLarge' },
    { what: 'CONNECT', request: `CONNECT ${MARKER}:443 HTTP/1.1\r\nHost: x\r\n\r\n`, status: 404, code: 'NotFound' },
    { what: 'an unknown path', request: `GET /${MARKER} HTTP/1.1\r\nHost: x\r\n\r\n`, status: 404, code: 'NotFound' },
  ];

  it.each(cases)('$what: $status $code', async ({ request, status, code }) => {
    expectDocumentedError(await rawExchange(port, request), status, code);
  });

  it('answers malformed HTTP under /runtime/api/v1/ in seed 001’s {"error": ...} shape', async () => {
    const chunk = `POST /runtime/api/v1/clusters HTTP/1.1\r\nHost: x\r\n${authorized}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz${MARKER}\r\n{}\r\n0\r\n\r\n`;
    expectPlainError(await rawExchange(port, chunk), 400);
    const lengths = `POST /runtime/api/v1/clusters HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`;
    expectPlainError(await rawExchange(port, lengths), 400);
  });

  it('serves a request whose Expect header it does not know, instead of a bodiless 417', async () => {
    const request = `POST ${ACTION} HTTP/1.1\r\nHost: x\r\n${authorized}Expect: ${MARKER}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
    const answer = await rawExchange(port, request);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ nodes: [] });
  });
});

describe('a request must arrive within requestReceiveTimeoutMs', () => {
  it('answers a body that never arrives (Content-Length 100, 2 bytes sent) 408 RequestTimeout and closes the connection', async () => {
    const connection = await RawConnection.open(port);
    const startedAt = Date.now();
    await connection.write(`POST /api/v1/actions/invoke/cluster_RegisterNode HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ENROLL}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}`);
    const answer = await connection.answer(20_000);
    expectDocumentedError(answer, 408, 'RequestTimeout');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(RECEIVE_TIMEOUT_MS - 50);
    expect(await connection.closedWithin(10_000)).toBe(true);
    connection.destroy();
  });

  it('answers headers sent a piece at a time past the deadline 408, in seed 001’s shape under /runtime/api/v1/', async () => {
    const headers = await RawConnection.open(port);
    await headers.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    expectDocumentedError(await headers.answer(20_000), 408, 'RequestTimeout');
    expect(await headers.closedWithin(10_000)).toBe(true);
    headers.destroy();
    const plain = await RawConnection.open(port);
    await plain.write(`POST /runtime/api/v1/clusters HTTP/1.1\r\nHost: x\r\n${authorized}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
    expectPlainError(await plain.answer(20_000), 408);
    plain.destroy();
  });

  it('leaves a request that arrives in time alone, also one that arrives in pieces', async () => {
    const connection = await RawConnection.open(port);
    await connection.write(`POST ${ACTION} HTTP/1.1\r\nHost: x\r\n${authorized}`);
    await connection.write('Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{');
    await connection.write('}');
    const answer = await connection.answer();
    expect(answer.status).toBe(200);
    connection.destroy();
  });
});

describe('a body over bodyLimitBytes', () => {
  /** Writes a 1 MiB body without reading, as a client busy uploading does, then reads what came back. */
  async function upload(head: string, chunked: boolean): Promise<RawAnswer> {
    const connection = await RawConnection.open(port);
    connection.pause();
    await connection.write(head);
    const chunk = Buffer.alloc(16 * 1024, 'a');
    for (let sent = 0; sent < 1024 * 1024; sent += chunk.length) {
      const data = chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
      if (!(await connection.write(data))) break;
      // Let the server run between chunks, so it answers while the client is still writing.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (chunked) await connection.write('0\r\n\r\n');
    connection.resume();
    const answer = await connection.answer();
    connection.destroy();
    return answer;
  }
  const head = (path: string, framing: string) =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`;

  it('reaches a client still writing 1 MiB as the 413 PayloadTooLarge answer, not a reset (announced or chunked)', async () => {
    for (const chunked of [false, true]) {
      const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${1024 * 1024}`;
      const answer = await upload(head(ACTION, framing), chunked);
      expect(answer.error, `chunked: ${chunked}`).toBeUndefined();
      expectDocumentedError(answer, 413, 'PayloadTooLarge');
      expect(answer.headers.connection).toBe('close');
      expectPlainError(await upload(head('/runtime/api/v1/clusters', framing), chunked), 413);
    }
  });

  it('reaches fetch sending 1 MiB as the 413 body', async () => {
    const response = await fetch(`http://127.0.0.1:${port}${ACTION}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect((await response.json()).error_code).toBe('PayloadTooLarge');
  });

  it('reads no more than a bound of what follows: an endless body has its connection closed', async () => {
    const connection = await RawConnection.open(port);
    await connection.write(head(ACTION, 'Transfer-Encoding: chunked'));
    const chunk = Buffer.concat([Buffer.from(`${(64 * 1024).toString(16)}\r\n`), Buffer.alloc(64 * 1024, 'a'), Buffer.from('\r\n')]);
    let sent = 0;
    while (sent < 64 * OVERSIZE_DISCARD_BYTES && (await connection.write(chunk))) sent += chunk.length;
    expect(await connection.closedWithin(10_000)).toBe(true);
    // What the server read, plus what the kernels' buffers held when it closed (a few MiB on loopback).
    expect(sent).toBeLessThan(OVERSIZE_DISCARD_BYTES + BODY_LIMIT + 20 * 1024 * 1024);
    connection.destroy();
  });
});
