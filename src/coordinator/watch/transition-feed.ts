import type { Logger } from '../../shared/logger.ts';
import type { Component } from '../component-runner.ts';
import type { Store, TransitionRecord } from '../store/store.ts';

/** Rows read from the log per query. */
export const FEED_PAGE = 500;

/** What the feed hands every transition it reads to: a watch stream's connection. */
export interface FeedSubscriber {
  /** A batch of transitions in id order, each id above every one delivered before. */
  deliver(transitions: readonly TransitionRecord[]): void;
  /** The coordinator is stopping: end the stream (the client reconnects elsewhere with Last-Event-ID). */
  close(): void;
}

export interface TransitionFeedDeps {
  store: Pick<Store, 'transitionsAfter' | 'transitionIdRange'>;
  logger: Logger;
  /** How often the log is read while someone watches: transitions other replicas decided arrive this late at most. */
  pollMs: number;
}

/**
 * Reads the transitions log by id and hands each new row to the watch streams of this replica.
 * The log is the one source, so a stream carries what every replica decided: this replica reads
 * it every `pollMs` (500 ms) while someone watches, and at once when it recorded a transition
 * itself (poke), so its own sweeps reach its watchers without waiting. Polling a primary-key
 * range was chosen over PostgreSQL's LISTEN/NOTIFY: the same code on both engines, a dedicated
 * connection less per replica, and nothing lost while a connection drops. Reads run one at a
 * time, in id order; log ids commit in id order (EngineTraits.orderLogCommits), so reading
 * "after the last id" never skips a row.
 */
export class TransitionFeed implements Component {
  readonly name = 'watch feed';
  private readonly subscribers = new Set<FeedSubscriber>();
  private lastId = 0;
  /** lastId is the log's newest as far as this replica read: false while nobody watched. */
  private synced = false;
  private queued = false;
  private reads: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(private readonly deps: TransitionFeedDeps) {}

  start(): void {
    this.timer = setInterval(() => this.poke(), this.deps.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const subscriber of this.subscribers) subscriber.close();
    this.subscribers.clear();
    await this.reads;
  }

  /** Reads the log soon: a transition was just recorded here. A read already queued covers it. */
  poke(): void {
    if (this.subscribers.size === 0) {
      this.synced = false;
      return;
    }
    if (this.queued) return;
    this.queued = true;
    void this.serially(() => {
      this.queued = false;
      return this.read();
    });
  }

  /**
   * Adds a subscriber and resolves with the id it is live after: every transition with a larger
   * id reaches it through deliver(); older ones it reads from the store itself.
   */
  subscribe(subscriber: FeedSubscriber): Promise<number> {
    return this.serially(async () => {
      if (!this.synced) {
        this.lastId = Math.max(this.lastId, (await this.deps.store.transitionIdRange())?.newest ?? 0);
        this.synced = true;
      }
      this.subscribers.add(subscriber);
      return this.lastId;
    });
  }

  unsubscribe(subscriber: FeedSubscriber): void {
    this.subscribers.delete(subscriber);
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.reads.then(work);
    this.reads = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<void> {
    try {
      for (;;) {
        const batch = await this.deps.store.transitionsAfter(this.lastId, FEED_PAGE);
        if (batch.length === 0) break;
        this.lastId = batch.at(-1)!.id;
        for (const subscriber of this.subscribers) subscriber.deliver(batch);
        if (batch.length < FEED_PAGE) break;
      }
      if (this.failing) this.deps.logger.info('watch feed: reading the transitions log works again');
      this.failing = false;
    } catch (error) {
      // The next poll tries again from the same id: nothing is lost, only late.
      if (!this.failing) this.deps.logger.warn('watch feed: reading the transitions log failed; retrying', { error });
      this.failing = true;
    }
  }
}
