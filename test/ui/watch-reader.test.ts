/**
 * The web page's watch-stream reader (src/coordinator/ui/static/sse.js), run in Node (which has
 * the same fetch and streams as the browser): the event-stream parser, and reconnecting with
 * Last-Event-ID against a small server that ends its streams.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/spawn-process.ts';

// A browser module without type declarations: imported by URL, so the type checker leaves it alone.
const sseModule = new URL('../../src/coordinator/ui/static/sse.js', import.meta.url).href;
const { SseParser, followWatch } = (await import(sseModule)) as {
  SseParser: new () => { push(text: string): Record<string, unknown>[] };
  followWatch: (token: () => string, handlers: Record<string, (...args: any[]) => void>, signal: AbortSignal, url: string) => Promise<void>;
};

describe('the event-stream parser', () => {
  it('parses events split anywhere across chunks, with CRLF, multi-line data, comments and retry', () => {
    const text = 'retry: 1000\r\n: watching transitions after 41\r\n\r\nid: 42\nevent: node-terminated\ndata: {"a":\ndata: 1}\n\nid: 43\n\ndata:plain\n\n';
    // Every split point of the text gives the same result.
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const out = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(out).toEqual([
        { retry: 1000 },
        { comment: 'watching transitions after 41' },
        { type: 'node-terminated', data: '{"a":\n1}', id: '42' },
        { type: '', data: '', id: '43' },
        { type: 'message', data: 'plain', id: undefined },
      ]);
    }
  });
});

describe('following the watch stream', () => {
  const servers: ReturnType<typeof createServer>[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function serve(answer: (request: IncomingMessage, response: ServerResponse, index: number) => void): Promise<{ url: string; requests: IncomingMessage[] }> {
    const requests: IncomingMessage[] = [];
    const server = createServer((request, response) => answer(request, response, requests.push(request) - 1));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/watch`, requests };
  }

  const stream = (response: ServerResponse, text: string, end: boolean) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(text);
    if (end) response.end();
  };

  it('sends the token as a bearer header, and resumes after a dropped stream from the last id it received', async () => {
    const { url, requests } = await serve((_request, response, index) => {
      if (index === 0) stream(response, 'retry: 50\n: watching transitions after 7\n\nid: 8\nevent: node-registered\ndata: {"id":8}\n\n', true);
      else stream(response, 'retry: 50\n: watching transitions after 9\n\nid: 9\nevent: node-terminated\ndata: {"id":9}\n\n', false);
    });
    const events: { type: string; data: string; id: string }[] = [];
    const states: string[] = [];
    const controller = new AbortController();
    const following = followWatch(() => 'np_secret', { onEvent: (event) => events.push(event), onState: (state) => states.push(state), onFatal: () => undefined }, controller.signal, url);
    await waitFor(() => events.length === 2, 10_000, { message: 'both events' });
    controller.abort();
    await following;
    expect(events.map((event) => [event.type, event.id, JSON.parse(event.data).id])).toEqual([
      ['node-registered', '8', 8],
      ['node-terminated', '9', 9],
    ]);
    expect(requests.map((request) => [request.headers.authorization, request.headers['last-event-id']])).toEqual([
      ['Bearer np_secret', undefined],
      ['Bearer np_secret', '8'],
    ]);
    expect(requests.every((request) => request.url === '/api/v1/watch')).toBe(true);
    expect(states).toEqual(['connecting', 'live', 'reconnecting', 'live']);
  });

  it('resumes from the id the stream opened at when no event came before the drop', async () => {
    const { url, requests } = await serve((_request, response, index) => stream(response, 'retry: 50\n: watching transitions after 41\n\n', index === 0));
    const controller = new AbortController();
    const following = followWatch(() => 'np_secret', { onEvent: () => undefined, onState: () => undefined, onFatal: () => undefined }, controller.signal, url);
    await waitFor(() => requests.length === 2, 10_000, { message: 'the reconnection' });
    controller.abort();
    await following;
    expect(requests[1]!.headers['last-event-id']).toBe('41');
  });

  it('passes a resync on, and after it resumes from where that stream went live, not from the id it no longer can', async () => {
    const { url, requests } = await serve((_request, response, index) => {
      if (index === 0) stream(response, 'retry: 50\n: watching transitions after 50\n\nevent: resync\ndata: {"reason":"behind","oldest_id":40}\n\n', true);
      else stream(response, 'retry: 50\n: watching transitions after 52\n\n', false);
    });
    const events: { type: string; data: string }[] = [];
    const controller = new AbortController();
    const following = followWatch(() => 'np_secret', { onEvent: (event) => events.push(event), onState: () => undefined, onFatal: () => undefined }, controller.signal, url);
    await waitFor(() => requests.length === 2, 10_000, { message: 'the reconnection' });
    controller.abort();
    await following;
    expect(events.map((event) => [event.type, JSON.parse(event.data).reason])).toEqual([['resync', 'behind']]);
    expect(requests[1]!.headers['last-event-id']).toBe('50');
  });

  it('stops and says so when the token is refused', async () => {
    const { url, requests } = await serve((_request, response) => response.writeHead(401, { 'content-type': 'application/json' }).end('{"error_code":"Unauthorized"}'));
    const refused: number[] = [];
    await followWatch(() => 'np_revoked', { onEvent: () => undefined, onState: () => undefined, onFatal: (status: number) => refused.push(status) }, new AbortController().signal, url);
    expect(refused).toEqual([401]);
    expect(requests).toHaveLength(1);
  });
});
