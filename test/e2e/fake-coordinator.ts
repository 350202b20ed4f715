/**
 * A stand-in coordinator for the agent's end-to-end tests of what it receives: an HTTP server on
 * 127.0.0.1 whose answer to each action the test sets (and changes while the agent runs). It
 * records every request's action and Authorization header. An action without an answer gets 404.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACTION_PREFIX } from '../../src/shared/protocol.ts';

export type Answer = (res: ServerResponse) => void;

export interface SeenRequest {
  action: string;
  authorization: string | undefined;
  at: number;
}

/** `body` as it is, with this content type. */
export function text(status: number, body: string, contentType = 'application/json'): Answer {
  return (res) => {
    res.writeHead(status, { 'content-type': contentType });
    res.end(body);
  };
}

export function json(status: number, value: unknown): Answer {
  return text(status, JSON.stringify(value));
}

/** `bytes` of JSON-looking padding, chunked (no Content-Length), written as fast as the client reads; `sent` counts them. */
export function flood(bytes: number, sent: number[]): Answer {
  return (res) => {
    const index = sent.push(0) - 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let closed = false;
    res.on('close', () => (closed = true));
    const pump = () => {
      while (!closed && sent[index]! < bytes) {
        sent[index]! += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  };
}

/** Accepts the request and never answers it. */
export const hang: Answer = () => undefined;

export interface FakeCoordinator {
  url: string;
  requests: SeenRequest[];
  answer(action: string, answer: Answer): void;
  close(): Promise<void>;
}

export async function startFakeCoordinator(): Promise<FakeCoordinator> {
  const answers = new Map<string, Answer>();
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const action = (req.url ?? '').startsWith(ACTION_PREFIX) ? (req.url ?? '').slice(ACTION_PREFIX.length) : (req.url ?? '');
    requests.push({ action, authorization: req.headers.authorization, at: Date.now() });
    req.resume();
    req.on('end', () => (answers.get(action) ?? json(404, { error_code: 'NotFound', message: 'No such action', details: {} }))(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    answer: (action, answer) => answers.set(action, answer),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
