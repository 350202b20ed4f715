import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ApiError, type ErrorCode } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { errorBodyFor, noRoute } from './error-handler.ts';

/**
 * Answers for what goes wrong below the routes, in the API's error shapes instead of Node's or
 * Fastify's own bodies: requests Node's HTTP parser refuses, requests not received in time, an
 * HTTP/1.1 request without Host, CONNECT. Answers name what is wrong and never quote the request.
 */

/** What Node's HTTP parser reports, and the answer it gets. */
function codeOf(error: NodeJS.ErrnoException): ErrorCode {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'RequestTimeout';
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'HeadersTooLarge';
  return 'MalformedHttp';
}

/** Node's parse errors carry the bytes it could not parse; a request line at their start names the API. */
const REQUEST_LINE = /^[A-Z]+ (\S+) HTTP\//;

/** The socket's response in progress: Node's own handler of client errors looks at it too (`_httpMessage`). */
type SocketWithResponse = Socket & { _httpMessage?: ServerResponse | null };

/** The request target an error concerns, when it can be known: the request in progress, else the request line of the bytes refused. */
function targetOf(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: SocketWithResponse): string | undefined {
  const inProgress = socket._httpMessage?.req?.url;
  if (inProgress !== undefined) return inProgress;
  return error.rawPacket ? REQUEST_LINE.exec(error.rawPacket.subarray(0, 8192).toString('latin1'))?.[1] : undefined;
}

/** A complete HTTP/1.1 answer that closes the connection, written straight to a socket. */
export function rawAnswer(error: ApiError, target: string | undefined): string {
  const body = JSON.stringify(errorBodyFor(target, error));
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** Fastify's clientErrorHandler: an answer when one can still be given (nothing of a response sent yet), then the connection closes. */
export function clientErrorHandler(logger: Logger): (error: NodeJS.ErrnoException, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const apiError = new ApiError(codeOf(error));
    logger.debug('client error', { code: error.code, status: apiError.status });
    const response = (socket as SocketWithResponse)._httpMessage;
    if (!socket.writable || response?.headersSent) {
      socket.destroy();
      return;
    }
    socket.end(rawAnswer(apiError, targetOf(error, socket)), () => socket.destroy());
  };
}

/**
 * Node's answers the parser does not report: 400 with no body to an HTTP/1.1 request without Host
 * (Node's check is off, this hook answers instead) and a closed connection to CONNECT. An Expect
 * other than 100-continue is ignored, as RFC 9110 allows, instead of Node's bodiless 417.
 */
export function installProtocolAnswers(app: FastifyInstance): void {
  // A callback hook on every request, heartbeats included: a promise each would cost.
  app.addHook('onRequest', (request, _reply, done) => {
    const hostless = request.raw.httpVersion === '1.1' && request.headers.host === undefined;
    done(hostless ? new ApiError('MalformedHttp', 'An HTTP/1.1 request needs a Host header') : undefined);
  });
  const server: Server = app.server;
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => server.emit('request', request, response));
  // CONNECT names a host, not a path: the default API's shape.
  server.on('connect', (_request: IncomingMessage, socket: Socket) => socket.end(rawAnswer(noRoute(), undefined), () => socket.destroy()));
}
