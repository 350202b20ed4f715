import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTION, READER, type Harness, listenHoldingClusterLookups, startHarness } from '../../helpers/coordinator-harness.ts';
import { waitFor } from '../../helpers/spawn-process.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

/** A kept-alive connection: send requests on it, and read everything the server sent until it closed. */
function connection(port: number): Promise<{ send: (request: string) => void; received: Promise<string> }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => resolve({ send: (request) => socket.write(request), received }));
    const received = new Promise<string>((done) => socket.on('end', () => done(text)));
    socket.on('data', (chunk) => (text += chunk.toString('utf8')));
    socket.on('error', reject);
  });
}

const getDetails = (port: number) =>
  `POST ${ACTION}cluster_GetDetails HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${READER}\r\n` +
  'Content-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}';

describe('a request that arrives while the coordinator shuts down', () => {
  it('is answered 503 ShuttingDown in the API error shape, after the request in flight completes', async () => {
    const app = h.coordinator.app;
    // Hold the first request in the store until the shutdown has begun.
    const { port, release, lookup } = await listenHoldingClusterLookups(h);
    const client = await connection(port);
    client.send(getDetails(port));
    await waitFor(() => lookup.mock.calls.length === 1, 10_000, { message: 'the first request in flight' });
    const closing = app.close();
    await waitFor(() => !app.server.listening, 10_000, { message: 'the server closing' });
    // The connection is busy, so closing leaves it open: a second request still arrives on it.
    client.send(getDetails(port));
    release();
    const text = await client.received;
    await closing;

    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]));
    expect(statuses).toEqual([200, 503]);
    const lastBody = JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4));
    expect(lastBody).toEqual({ error_code: 'ShuttingDown', message: expect.stringContaining('shutting down'), details: {} });
    expect(lookup).toHaveBeenCalledTimes(1);
  });
});
