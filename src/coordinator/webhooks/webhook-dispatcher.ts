import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Component } from '../component-runner.ts';
import { toHistoryEntry } from '../history/history-view.ts';
import type { Store, TransitionRecord } from '../store/store.ts';
import { retryDelayMs } from './retry-delay.ts';
import type { Deliver } from './webhook-delivery.ts';
import type { WebhookMetrics } from './webhook-metrics.ts';
import type { WebhookSettings, WebhookSink } from './webhook-settings.ts';

/** Transitions read from the log per query when enqueueing. */
const ENQUEUE_PAGE = 500;
/** Deliveries in one pass of a sink before it yields to the event loop (and to the other sinks). */
const DELIVERIES_PER_PASS = 100;
/** Delivered rows stay this long (for an operator looking at the store), then retention deletes them. */
const DELIVERED_KEEP_MS = 60 * 60_000;
/** Outbox retention runs this often, on the delivering replica. */
const PRUNE_PERIOD_MS = 10 * 60_000;
const PRUNE_BATCH = 1000;

export interface WebhookDispatcherDeps {
  settings: WebhookSettings;
  store: Pick<Store, 'webhookOutbox' | 'transitionsAfter' | 'transitionIdRange' | 'findClusterById'>;
  clock: Clock;
  logger: Logger;
  deliver: Deliver;
  metrics: WebhookMetrics;
  /** Only the sweeping replica delivers (leader-election.ts); always true on SQLite. */
  isLeader: () => boolean;
  /** How often an idle sink looks for new events and due retries: a new event waits this long at most. */
  pollMs: number;
  /** In [0, 1): the retry jitter; Math.random by default. */
  random?: () => number;
}

/** What one pass of a sink ended on. */
export type PassResult = 'idle' | 'waiting' | 'more' | 'failed' | 'skipped';

/**
 * Delivers the transitions log to the webhook sinks through the store's outbox (outbox.ts). Each
 * sink runs on its own: every `pollMs` it enqueues what the log recorded after its cursor (the
 * kinds and clusters it asked for), then sends its oldest undelivered event, and the next, until
 * none is due. A failure puts that event off by an exponential, jittered delay, and the sink's
 * later events wait behind it: events reach a sink in id order, each at least once (a crash after
 * a POST and before its record sends it again; receivers de-duplicate by X-Nodepulse-Event-Id).
 * With several replicas only the sweeping one delivers; a new leader resumes from the store.
 */
export class WebhookDispatcher implements Component {
  readonly name = 'webhooks';
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly passes = new Set<Promise<unknown>>();
  private readonly failing = new Map<string, number>();
  private readonly clusterNames = new Map<number, string>();
  private abort = new AbortController();
  private pruneTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The store failed on the last pass: told once, not every second. */
  private storeFailing = false;

  constructor(private readonly deps: WebhookDispatcherDeps) {}

  /** Gives each new sink its cursor (the log's newest event: a new sink starts with what happens next), then starts every sink's loop. */
  async start(): Promise<void> {
    this.stopped = false;
    this.abort = new AbortController();
    for (const sink of this.deps.settings.sinks) {
      // A store that does not answer yet is not fatal: the sink's first pass tries again.
      await this.startCursor(sink).catch((error: unknown) => this.deps.logger.warn('webhooks: reading the store failed; retrying', { sink: sink.name, error }));
      this.deps.logger.info('webhooks: delivering to sink', {
        sink: sink.name,
        host: sink.url.host,
        events: sink.events ? [...sink.events] : 'all',
        clusters: sink.clusters ? [...sink.clusters] : 'all',
      });
      this.schedule(sink, 0);
    }
    this.pruneTimer = setInterval(() => void this.track(this.prune()), PRUNE_PERIOD_MS);
    this.pruneTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    clearInterval(this.pruneTimer);
    // A delivery in flight is abandoned unrecorded: its event stays pending and goes again after a restart.
    this.abort.abort();
    await Promise.allSettled([...this.passes]);
  }

  /**
   * One pass of one sink: enqueue what the log recorded since its cursor, then deliver what is
   * due, in event order, until a failure, nothing due, or DELIVERIES_PER_PASS. Never throws.
   */
  async pass(sink: WebhookSink): Promise<PassResult> {
    if (!this.deps.isLeader()) return 'skipped';
    try {
      await this.enqueue(sink);
      let result: PassResult = 'more';
      for (let sent = 0; result === 'more' && sent < DELIVERIES_PER_PASS; sent++) {
        // Stopping ends the pass after the delivery in flight.
        if (this.stopped && sent > 0) break;
        result = await this.deliverNext(sink);
      }
      if (this.storeFailing) this.deps.logger.info('webhooks: reading and writing the outbox works again');
      this.storeFailing = false;
      return result;
    } catch (error) {
      if (!this.storeFailing) this.deps.logger.warn('webhooks: the outbox could not be read or written; retrying every poll', { sink: sink.name, error });
      this.storeFailing = true;
      return 'failed';
    }
  }

  /** Deletes delivered rows after DELIVERED_KEEP_MS, and rows whose event history retention deleted. */
  async prune(): Promise<number> {
    if (!this.deps.isLeader()) return 0;
    let total = 0;
    try {
      for (let batch = 0; batch < 100; batch++) {
        const deleted = await this.deps.store.webhookOutbox.prune(this.deps.clock.now() - DELIVERED_KEEP_MS, PRUNE_BATCH);
        total += deleted;
        if (deleted < PRUNE_BATCH) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      this.deps.logger.warn('webhooks: outbox retention failed; it runs again on schedule', { error });
    }
    return total;
  }

  private schedule(sink: WebhookSink, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(sink.name);
      void this.track(this.pass(sink)).then((result) => this.schedule(sink, result === 'more' ? 0 : this.deps.pollMs));
    }, delayMs);
    timer.unref();
    this.timers.set(sink.name, timer);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.passes.add(work);
    void work.finally(() => this.passes.delete(work)).catch(() => undefined);
    return work;
  }

  private async startCursor(sink: WebhookSink): Promise<number> {
    const { webhookOutbox } = this.deps.store;
    const cursor = await webhookOutbox.cursor(sink.name);
    if (cursor !== null) return cursor;
    const newest = (await this.deps.store.transitionIdRange())?.newest ?? 0;
    await webhookOutbox.startCursor(sink.name, newest, this.deps.clock.now());
    return (await webhookOutbox.cursor(sink.name)) ?? newest;
  }

  /** Moves what the log recorded after the sink's cursor into its outbox, the cursor with it, one page per transaction. */
  private async enqueue(sink: WebhookSink): Promise<void> {
    let cursor = await this.startCursor(sink);
    for (;;) {
      const batch = await this.deps.store.transitionsAfter(cursor, ENQUEUE_PAGE);
      if (batch.length === 0) return;
      const wanted: number[] = [];
      for (const transition of batch) if (await this.wants(sink, transition)) wanted.push(transition.id);
      cursor = batch.at(-1)!.id;
      await this.deps.store.webhookOutbox.enqueue(sink.name, wanted, cursor, this.deps.clock.now());
      if (batch.length < ENQUEUE_PAGE) return;
    }
  }

  private async wants(sink: WebhookSink, transition: TransitionRecord): Promise<boolean> {
    if (sink.events && !sink.events.has(transition.kind)) return false;
    if (!sink.clusters) return true;
    return sink.clusters.has(await this.clusterName(transition.clusterId));
  }

  /** Clusters are never renamed, so a name once read is kept. */
  private async clusterName(clusterId: number): Promise<string> {
    let name = this.clusterNames.get(clusterId);
    if (name === undefined) {
      name = (await this.deps.store.findClusterById(clusterId))?.name ?? '';
      this.clusterNames.set(clusterId, name);
    }
    return name;
  }

  /** Sends the sink's oldest undelivered event when it is due: 'more' after a delivery, else why it stopped. */
  private async deliverNext(sink: WebhookSink): Promise<PassResult> {
    const { webhookOutbox } = this.deps.store;
    const entry = await webhookOutbox.next(sink.name);
    if (!entry) return 'idle';
    if (entry.nextAttemptAt > this.deps.clock.now()) return 'waiting';
    if (!entry.transition) {
      this.deps.logger.warn('webhooks: an undelivered event was deleted by history retention; skipping it', { sink: sink.name, eventId: entry.eventId });
      await webhookOutbox.discard(sink.name, entry.eventId);
      return 'more';
    }
    const attempt = entry.attempts + 1;
    const body = JSON.stringify(toHistoryEntry(entry.transition));
    const result = await this.deps.deliver({ sink, eventId: entry.eventId, body, attempt, now: this.deps.clock.now() }, this.abort.signal);
    // Stopping abandons the attempt unrecorded; the event stays pending.
    if (this.abort.signal.aborted) return 'failed';
    this.deps.metrics.deliveries.inc({ sink: sink.name, outcome: result.outcome });
    if (result.outcome === 'delivered') {
      await webhookOutbox.delivered(sink.name, entry.eventId, this.deps.clock.now());
      this.recovered(sink);
      return 'more';
    }
    const delayMs = retryDelayMs(attempt, this.deps.settings.retry, this.deps.random);
    await webhookOutbox.failed(sink.name, entry.eventId, { attempts: attempt, nextAttemptAt: this.deps.clock.now() + delayMs, error: result.error });
    this.failed(sink, entry.eventId, attempt, delayMs, result.error);
    return 'failed';
  }

  /** One warning when a sink starts failing, then one every tenth attempt: a sink down for hours does not flood the log. */
  private failed(sink: WebhookSink, eventId: number, attempt: number, retryInMs: number, error: string): void {
    const streak = (this.failing.get(sink.name) ?? 0) + 1;
    this.failing.set(sink.name, streak);
    if (streak === 1 || streak % 10 === 0) {
      this.deps.logger.warn('webhooks: delivery failed; retrying', { sink: sink.name, eventId, attempt, retryInMs, error, failuresInARow: streak });
    }
  }

  private recovered(sink: WebhookSink): void {
    const streak = this.failing.get(sink.name);
    if (streak === undefined) return;
    this.failing.delete(sink.name);
    this.deps.logger.info('webhooks: the sink accepts deliveries again', { sink: sink.name, failedAttempts: streak });
  }
}
