import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Component } from '../component-runner.ts';
import type { Store } from '../store/store.ts';

/** Rows deleted per statement: small, so a write lock is held briefly and heartbeats keep flowing. */
export const RETENTION_BATCH = 1000;
/** Batches per run at most; what is left goes on the next run. */
const MAX_BATCHES_PER_RUN = 200;

export interface HistoryRetentionDeps {
  store: Pick<Store, 'pruneTransitions' | 'pruneTerminatedNodes'>;
  clock: Clock;
  logger: Logger;
  /** Transitions and Terminated nodes older than this go (historyRetentionDays). */
  maxAgeMs: number;
  /** How often retention runs (it also runs once at start). */
  periodMs: number;
  /** With several replicas only the sweeping one deletes; always by default. */
  shouldRun?: () => boolean;
  /** Yields between batches; the event loop's next turn by default. */
  pause?: () => Promise<void>;
}

export interface RetentionRun {
  transitions: number;
  nodes: number;
}

/**
 * Deletes transitions and Terminated nodes older than the retention age, in batches of
 * RETENTION_BATCH with a pause between them, once at start and then every `periodMs`. An
 * instance's newest node is kept whatever its age (its state derives from it).
 */
export class HistoryRetention implements Component {
  readonly name = 'history retention';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionRun> | undefined;

  constructor(private readonly deps: HistoryRetentionDeps) {}

  start(): void {
    const scheduled = () => {
      if (this.deps.shouldRun && !this.deps.shouldRun()) return;
      void this.run().catch((error: unknown) => this.deps.logger.warn('history retention failed; it runs again on schedule', { error }));
    };
    this.timer = setInterval(scheduled, this.deps.periodMs);
    this.timer.unref();
    setImmediate(scheduled);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One run (a run in progress is shared). */
  run(): Promise<RetentionRun> {
    this.running ??= this.prune().finally(() => (this.running = undefined));
    return this.running;
  }

  private async prune(): Promise<RetentionRun> {
    const olderThan = this.deps.clock.now() - this.deps.maxAgeMs;
    const deleted = {
      transitions: await this.inBatches((limit) => this.deps.store.pruneTransitions(olderThan, limit)),
      nodes: await this.inBatches((limit) => this.deps.store.pruneTerminatedNodes(olderThan, limit)),
    };
    if (deleted.transitions + deleted.nodes > 0) {
      this.deps.logger.info('history retention: deleted old transitions and Terminated nodes', { ...deleted, olderThan: new Date(olderThan).toISOString() });
    }
    return deleted;
  }

  private async inBatches(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
    const pause = this.deps.pause ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
    let total = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
      const deleted = await deleteBatch(RETENTION_BATCH);
      total += deleted;
      if (deleted < RETENTION_BATCH) break;
      await pause();
    }
    return total;
  }
}
