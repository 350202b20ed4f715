import type { FastifyInstance } from 'fastify';
import type { Component } from '../component-runner.ts';

/** Where the API listens; without it (tests, benchmarks) requests come through app.inject() or the caller's own listen(). */
export interface ListenAddress {
  host: string;
  port: number;
}

/** The HTTP server as a component: listens on start (when given an address), and on stop answers what is in flight and closes. */
export function httpServer(app: FastifyInstance, address: ListenAddress | undefined): Component {
  return {
    name: 'HTTP server',
    async start() {
      if (address) await app.listen(address);
    },
    stop: () => app.close(),
  };
}
