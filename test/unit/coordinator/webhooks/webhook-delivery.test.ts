import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../helpers/spawn-process.ts';
import { type DeliveryRequest, httpDeliver } from '../../../../src/coordinator/webhooks/webhook-delivery.ts';
import { verifyDelivery } from '../../../helpers/webhook-receiver.ts';

const secret = new TextEncoder().encode('delivery-secret-0123456789');
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server on 127.0.0.1 that hands each request, with its body, to `handle`. */
async function serve(handle: (request: IncomingMessage, body: string, response: ServerResponse) => void): Promise<string> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => handle(request, body, response));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/hook?team=ops`;
}

const request = (url: string): DeliveryRequest => ({ sink: { name: 'pager', url: new URL(url), secret }, eventId: 9, body: '{"id":9}', attempt: 1, now: Date.now() });

describe('HTTP delivery', () => {
  it('POSTs the body with headers a receiver verifies, and counts a 2xx as delivered', async () => {
    let seen: { method?: string; path?: string; verified?: boolean } = {};
    const url = await serve((incoming, body, response) => {
      const headers = { timestamp: String(incoming.headers['x-nodepulse-timestamp']), signature: String(incoming.headers['x-nodepulse-signature']) };
      seen = { method: incoming.method, path: incoming.url, verified: verifyDelivery(secret, headers, body, Date.now() / 1000) };
      response.writeHead(202).end('accepted');
    });
    expect(await httpDeliver(5000)(request(url), new AbortController().signal)).toEqual({ outcome: 'delivered', status: 202 });
    expect(seen).toEqual({ method: 'POST', path: '/hook?team=ops', verified: true });
  });

  it('counts any other status as rejected, a redirect included (never followed)', async () => {
    let hits = 0;
    const url = await serve((_incoming, _body, response) => {
      hits += 1;
      response.writeHead(hits === 1 ? 503 : 302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
    });
    const deliver = httpDeliver(5000);
    expect(await deliver(request(url), new AbortController().signal)).toEqual({ outcome: 'rejected', status: 503, error: 'answered 503' });
    expect(await deliver(request(url), new AbortController().signal)).toEqual({ outcome: 'rejected', status: 302, error: 'answered 302' });
    expect(hits).toBe(2);
  });

  it('counts no answer in time, a refused connection and an abort as unreachable, naming neither the URL nor the secret', async () => {
    const silent = await serve(() => undefined);
    const timedOut = await httpDeliver(300)(request(silent), new AbortController().signal);
    expect(timedOut).toEqual({ outcome: 'unreachable', error: 'no answer within 300 ms' });
    const closed = await freePort();
    const refused = await httpDeliver(5000)(request(`http://127.0.0.1:${closed}/hook?team=ops`), new AbortController().signal);
    expect(refused).toEqual({ outcome: 'unreachable', error: 'ECONNREFUSED' });
    // Port 6666 is one the fetch standard blocks: the error says so rather than "bad port".
    const blocked = await httpDeliver(5000)(request('http://127.0.0.1:6666/hook'), new AbortController().signal);
    expect(blocked).toEqual({ outcome: 'unreachable', error: expect.stringMatching(/^fetch refuses port 6666 .*another port/) });
    const stopping = new AbortController();
    const aborted = httpDeliver(5000)(request(silent), stopping.signal);
    stopping.abort();
    expect(await aborted).toEqual({ outcome: 'unreachable', error: 'aborted: the coordinator is stopping' });
  });
});
