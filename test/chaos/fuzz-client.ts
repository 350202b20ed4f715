/**
 * Sends the fuzz campaign's well-framed requests with node:http over kept-alive connections, and
 * says what came back within a bound: an answer, a connection closed without one, or nothing.
 */
import { Agent, request } from 'node:http';
import type { FuzzRequest } from './fuzz-requests.ts';

export interface Exchange {
  /** An answer; `closed`: the connection ended without one; `hung`: nothing within the bound. */
  outcome: 'answered' | 'closed' | 'hung';
  status: number;
  contentType: string | undefined;
  body: string;
  /** What the client saw go wrong, when no answer came. */
  error?: string;
}

export class FuzzClient {
  private readonly agent: Agent;

  constructor(
    private readonly port: number,
    private readonly boundMs: number,
    connections: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
  }

  async send(fuzz: FuzzRequest): Promise<Exchange> {
    const first = await this.once(fuzz);
    // A kept-alive connection the server closed just as this request went out: the request never
    // reached it (Node's documented race), so it is sent once more on a new connection.
    return first.retry ? (await this.once(fuzz)).exchange : first.exchange;
  }

  close(): void {
    this.agent.destroy();
  }

  private once(fuzz: FuzzRequest): Promise<{ exchange: Exchange; retry: boolean }> {
    return new Promise((resolve) => {
      const body = fuzz.body === undefined ? undefined : Buffer.from(fuzz.body);
      const headers = { ...fuzz.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
      const outgoing = request({ host: '127.0.0.1', port: this.port, method: fuzz.method, path: fuzz.target, headers, agent: this.agent });
      const timer = setTimeout(() => {
        outgoing.destroy();
        resolve({ exchange: { outcome: 'hung', status: 0, contentType: undefined, body: '' }, retry: false });
      }, this.boundMs);
      outgoing.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          clearTimeout(timer);
          const contentType = response.headers['content-type'];
          resolve({ exchange: { outcome: 'answered', status: response.statusCode ?? 0, contentType, body: Buffer.concat(chunks).toString('utf8') }, retry: false });
        });
        response.on('error', (error) => {
          clearTimeout(timer);
          resolve({ exchange: { outcome: 'closed', status: response.statusCode ?? 0, contentType: undefined, body: '', error: error.message }, retry: false });
        });
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const retry = outgoing.reusedSocket && error.code === 'ECONNRESET';
        resolve({ exchange: { outcome: 'closed', status: 0, contentType: undefined, body: '', error: error.code ?? error.message }, retry });
      });
      outgoing.end(body);
    });
  }
}
