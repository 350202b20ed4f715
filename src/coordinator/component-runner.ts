import type { Logger } from '../shared/logger.ts';

/** A part of the coordinator with a life: its timers, connections or listeners begin at start() and end at stop(). */
export interface Component {
  /** Names the part in the shutdown log. */
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** A part that has start() and stop() but no name of its own (the monitor, the health-check tracker). */
export function named(name: string, part: Pick<Component, 'start' | 'stop'>): Component {
  return { name, start: () => part.start(), stop: () => part.stop() };
}

/**
 * Starts components in order and stops them in reverse: each one may rely on those listed
 * before it for as long as it runs. A start that fails stops everything and rethrows. stop()
 * stops every component, started or not (a stop before a start is harmless, and tests drive
 * single parts by hand); one that fails is logged, the rest still stop, and stop() then rejects
 * naming every part that failed.
 */
export class ComponentRunner {
  constructor(
    private readonly components: readonly Component[],
    private readonly logger: Logger,
  ) {}

  /** Synchronous starts run in the caller's tick: with no asynchronous part, everything runs before start() returns. */
  async start(): Promise<void> {
    for (const component of this.components) {
      try {
        const starting = component.start();
        if (starting) await starting;
      } catch (error) {
        this.logger.error(`starting ${component.name} failed; stopping what was started`, { error });
        await this.stop().catch(() => undefined);
        throw error;
      }
    }
  }

  async stop(): Promise<void> {
    const failed: string[] = [];
    for (const component of [...this.components].reverse()) {
      try {
        await component.stop();
      } catch (error) {
        failed.push(component.name);
        this.logger.error(`stopping ${component.name} failed`, { error });
      }
    }
    if (failed.length > 0) throw new Error(`stopping failed: ${failed.join(', ')}`);
  }
}
