/**
 * The agent's local status endpoint (opt-in: statusListen), for sidecar probes and humans:
 * GET /healthz answers 200 while the heartbeat loop makes progress and 503 otherwise; GET /status
 * answers the whole status as JSON. node:http only: the agent carries no web framework.
 */
import { type Server, createServer } from 'node:http';
import { ConfigError } from '../shared/errors.ts';
import type { AgentStatusReport } from './agent-status.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `HOST:PORT` or `[IPv6]:PORT`, as the statusListen key takes it. */
export function parseListenAddress(value: string): ListenAddress {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || !(port >= 0 && port <= 65_535)) throw new ConfigError([`statusListen: "${value}" is not HOST:PORT`]);
  return { host: match[1] as string, port };
}

export class StatusServer {
  private readonly server: Server;

  constructor(status: () => AgentStatusReport) {
    this.server = createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0];
      if (request.method !== 'GET' || (path !== '/healthz' && path !== '/status')) {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found: GET /healthz or /status"}\n');
        return;
      }
      const report = status();
      const body = path === '/status' ? report : { healthy: report.healthy, connection: report.connection };
      response.writeHead(path === '/healthz' && !report.healthy ? 503 : 200, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    });
  }

  /** Listens; a busy or forbidden address is a config error naming the key (exit 78). */
  async start(address: ListenAddress): Promise<ListenAddress> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new ConfigError([`statusListen: cannot listen on ${address.host}:${address.port} (${error.code ?? error.message}); choose another address`])),
      );
      this.server.listen(address.port, address.host, () => resolve());
    });
    const bound = this.server.address();
    return { host: address.host, port: typeof bound === 'object' && bound ? bound.port : address.port };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
