import type { Component } from './component-runner.ts';

/**
 * Whether this replica takes requests: from construction (tests inject requests without start())
 * until stop. Listed last, it stops first in a shutdown, so /readyz sends the load balancer away
 * and the monitor reports the shutdown while the rest stops.
 */
export class Readiness implements Component {
  readonly name = 'readiness';
  private ready = true;

  get accepting(): boolean {
    return this.ready;
  }

  start(): void {
    this.ready = true;
  }

  stop(): void {
    this.ready = false;
  }
}
