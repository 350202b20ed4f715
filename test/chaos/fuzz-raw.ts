/**
 * Malformed HTTP for the fuzz campaign, written byte for byte on a socket (test/helpers/raw-http.ts):
 * bad request lines, duplicate or contradicting Content-Length, bad chunking, oversized headers,
 * truncated bodies, slow writers and random bytes, aimed at the documented routes.
 */
import fc from 'fast-check';
import { RawConnection } from '../helpers/raw-http.ts';
import type { Exchange } from './fuzz-client.ts';
import type { Operation } from './fuzz-schema.ts';

export interface RawCase {
  /** What kind of malformation, for the report. */
  what: string;
  /** The method and target of its request line, when it has one the server can read. */
  method: string | undefined;
  target: string | undefined;
  /** Written one after another, `pauseMs` apart (a slow writer), or at once. */
  pieces: string[];
  pauseMs: number;
}

/** A concrete target of an operation, with its path parameters filled in plainly. */
const targetOf = (operation: Operation) => operation.path.replace('{id}', '1').replace('{event_id}', 'latest');

const head = (method: string, target: string, lines: string[]) => `${method} ${target} HTTP/1.1\r\nHost: fuzz\r\n${lines.map((line) => `${line}\r\n`).join('')}\r\n`;

const printable = fc.string({ maxLength: 60 });
const bytes = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((array) => Buffer.from(array).toString('latin1'));

/** Every malformed request, for one operation's target (a token of `authorization` in front of its body). */
function casesFor(operation: Operation, authorization: string): fc.Arbitrary<RawCase>[] {
  const target = targetOf(operation);
  const method = operation.method;
  const auth = `Authorization: ${authorization}`;
  const json = 'Content-Type: application/json';
  const framed = (what: string, lines: string[], body: string, pauseMs = 0, pieces?: string[]): RawCase => ({
    what,
    method,
    target,
    pieces: pieces ?? [head(method, target, [auth, json, ...lines]) + body],
    pauseMs,
  });
  return [
    fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 })).map(([a, b]) => framed('duplicate Content-Length', [`Content-Length: ${a}`, `Content-Length: ${b}`], '{}'.padEnd(Math.max(a, b), ' '))),
    fc.constantFrom('2, 3', '2,2', '-1', '+2', '0x2', '2 2', '99999999999999999999', '').map((value) => framed('contradicting Content-Length', [`Content-Length: ${value}`], '{}')),
    fc.constantFrom('chunked', 'chunked, chunked', 'gzip, chunked', 'chunked, gzip', 'xchunked', 'identity').map((te) => framed('Content-Length with Transfer-Encoding', ['Content-Length: 2', `Transfer-Encoding: ${te}`], '2\r\n{}\r\n0\r\n\r\n')),
    fc
      .constantFrom('zz\r\n{}\r\n0\r\n\r\n', '2\r\n{}0\r\n\r\n', '-2\r\n{}\r\n0\r\n\r\n', 'ffffffffffffffff\r\n{}\r\n', '2;ext="\x01"\r\n{}\r\n0\r\n\r\n', '2\n{}\n0\n\n', '1\r\n{}\r\n0\r\n\r\n', '2\r\n{}\r\n')
      .map((chunks) => framed('bad chunking', ['Transfer-Encoding: chunked'], chunks)),
    fc.integer({ min: 17_000, max: 70_000 }).map((size) => framed('oversized headers', [`X-Fuzz: ${'a'.repeat(size)}`, 'Content-Length: 2'], '{}')),
    fc.integer({ min: 120, max: 400 }).map((count) => framed('too many headers', [...Array.from({ length: count }, (_unused, index) => `X-Fuzz-${index}: ${'b'.repeat(100)}`), 'Content-Length: 2'], '{}')),
    fc.integer({ min: 3, max: 5000 }).map((length) => framed('truncated body', [`Content-Length: ${length}`], '{"na')),
    fc.tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 20, max: 450 })).map(([count, pauseMs]) => {
      const whole = head(method, target, [auth, json, 'Content-Length: 2']) + '{}';
      const size = Math.ceil(whole.length / count);
      const pieces = Array.from({ length: count }, (_unused, index) => whole.slice(index * size, (index + 1) * size)).filter(Boolean);
      return framed('slow writer', [], '', pauseMs, pieces);
    }),
    fc.tuple(printable, printable).map(([verb, rest]) => ({ what: 'bad request line', method: undefined, target: undefined, pieces: [`${verb} ${rest}\r\nHost: fuzz\r\n\r\n`], pauseMs: 0 })),
    fc.constantFrom(`${method} ${target} HTTP/9.9`, `${method} ${target}`, `${method}  ${target} HTTP/1.1`, `${method} ${target} HTTP/1.1 extra`, `${method.toLowerCase()} ${target} HTTP/1.1`, `${method} http://fuzz${target} HTTP/1.1`, `${method} ${target}\x00 HTTP/1.1`, `${method} ${target.replace('/', '/\x7f')} HTTP/1.1`)
      // Node reads some of these after all (no version, two spaces, an absolute URL): the operation's answer is right then.
      .map((line) => ({ what: 'bad request line', method, target, pieces: [`${line}\r\nHost: fuzz\r\n${auth}\r\n\r\n`], pauseMs: 0 })),
    fc.constantFrom(`X-Fuzz\x00: a`, 'X Fuzz: a', ': no name', 'X-Fuzz: a\rb', ' X-Folded: a', 'Host: second', 'X-Fuzz:\x7f').map((line) => framed('bad header', [line, 'Content-Length: 2'], '{}')),
    bytes.map((text) => ({ what: 'random bytes', method: undefined, target: undefined, pieces: [text], pauseMs: 0 })),
    bytes.map((text) => ({ what: 'random bytes after a request', method, target, pieces: [head(method, target, [auth, 'Content-Length: 0']) + text], pauseMs: 0 })),
  ];
}

/** Malformed requests to any operation, with a valid token or none. */
export function anyRawCase(operations: Operation[], adminToken: string): fc.Arbitrary<RawCase> {
  return fc.oneof(...operations.flatMap((operation) => casesFor(operation, `Bearer ${adminToken}`)));
}

/** Writes the case's bytes (slowly, when it is a slow writer) and reads the answer within the bound. */
export async function sendRaw(port: number, rawCase: RawCase, boundMs: number): Promise<Exchange> {
  const connection = await RawConnection.open(port);
  try {
    for (const [index, piece] of rawCase.pieces.entries()) {
      // The stimulus itself: a client that takes its time between writes.
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, rawCase.pauseMs));
      if (!(await connection.write(Buffer.from(piece, 'latin1')))) break;
    }
    const answer = await connection.answer(boundMs);
    // Only the first answer: what follows it (a second answer to bytes after the request) is not its body.
    const body = Buffer.from(answer.body).subarray(0, Number(answer.headers['content-length'] ?? Number.POSITIVE_INFINITY)).toString('utf8');
    if (answer.status > 0) return { outcome: 'answered', status: answer.status, contentType: answer.headers['content-type'], body };
    return { outcome: answer.closed ? 'closed' : 'hung', status: 0, contentType: undefined, body: '', ...(answer.error ? { error: answer.error } : {}) };
  } finally {
    connection.destroy();
  }
}
