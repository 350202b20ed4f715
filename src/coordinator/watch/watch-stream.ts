import type { ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.ts';
import { toHistoryEntry } from '../history/history-view.ts';
import type { Store, TransitionRecord } from '../store/store.ts';
import type { TransitionKind } from '../store/transitions.ts';
import { FEED_PAGE, type FeedSubscriber } from './transition-feed.ts';

/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
const KEEPALIVE_MS = 15_000;
/** A client this far behind in reading (bytes queued on its socket) is cut off; it resumes with Last-Event-ID from the store. */
const MAX_QUEUED_BYTES = 1024 * 1024;

export interface WatchFilter {
  clusterId?: number | undefined;
  kinds?: ReadonlySet<TransitionKind> | undefined;
}

/** Where a resuming client stands against what the log still holds. */
export type ResumePoint = { from: 'live' } | { from: 'id'; lastEventId: number } | { from: 'resync'; reason: 'behind' | 'ahead'; oldestId: number | null };

/** Judges a Last-Event-ID against the log's range: older than what retention kept, or newer than anything recorded (another store), asks the client to re-list. */
export function resumePoint(lastEventId: number | undefined, range: { oldest: number; newest: number } | null): ResumePoint {
  if (lastEventId === undefined) return { from: 'live' };
  const newest = range?.newest ?? 0;
  if (lastEventId > newest) return { from: 'resync', reason: 'ahead', oldestId: range?.oldest ?? null };
  if (range && lastEventId + 1 < range.oldest) return { from: 'resync', reason: 'behind', oldestId: range.oldest };
  return { from: 'id', lastEventId };
}

/**
 * One client's server-sent event stream: every transition the filter lets through, one event
 * each, with the log id as the event id. While it catches up from the store after a
 * Last-Event-ID, what the feed delivers waits, so events go out once and in id order.
 */
export class WatchStream implements FeedSubscriber {
  /** Live batches held while the stream catches up; undefined once it is live. */
  private held: (readonly TransitionRecord[])[] | undefined = [];
  private sentUpTo = 0;
  private keepalive: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly out: ServerResponse,
    private readonly filter: WatchFilter,
    private readonly logger: Logger,
  ) {}

  /** Writes the headers, catches up from `resume` to `liveAfter` when resuming, then goes live. */
  async begin(resume: ResumePoint, liveAfter: number, store: Pick<Store, 'transitionsAfter'>): Promise<void> {
    this.out.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // EventSource reconnects after `retry` ms, sending the last id it saw.
    this.write(`retry: 1000\n: watching transitions after ${liveAfter}\n\n`);
    this.keepalive = setInterval(() => this.write(': keepalive\n\n'), KEEPALIVE_MS);
    this.keepalive.unref();
    this.sentUpTo = liveAfter;
    if (resume.from === 'resync') {
      const message =
        resume.reason === 'behind'
          ? 'Events after your Last-Event-ID were deleted by retention: list the current state again, then follow this stream'
          : 'Your Last-Event-ID is newer than any event recorded here (another store?): list the current state again, then follow this stream';
      this.write(`event: resync\ndata: ${JSON.stringify({ reason: resume.reason, oldest_id: resume.oldestId, message })}\n\n`);
    } else if (resume.from === 'id') {
      await this.catchUp(resume.lastEventId, liveAfter, store);
    }
    const held = this.held ?? [];
    this.held = undefined;
    for (const batch of held) this.send(batch);
  }

  deliver(transitions: readonly TransitionRecord[]): void {
    if (this.held) this.held.push(transitions);
    else this.send(transitions);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    this.out.end();
  }

  /** Drops the connection without waiting for what is queued on it. */
  private abandon(): void {
    this.closed = true;
    clearInterval(this.keepalive);
    this.out.destroy();
  }

  private async catchUp(afterId: number, upTo: number, store: Pick<Store, 'transitionsAfter'>): Promise<void> {
    let cursor = afterId;
    while (cursor < upTo && !this.closed) {
      const batch = (await store.transitionsAfter(cursor, FEED_PAGE)).filter((transition) => transition.id <= upTo);
      if (batch.length === 0) break;
      this.emit(batch);
      cursor = batch.at(-1)!.id;
    }
  }

  private send(batch: readonly TransitionRecord[]): void {
    this.emit(batch.filter((transition) => transition.id > this.sentUpTo));
    if (batch.length > 0) this.sentUpTo = Math.max(this.sentUpTo, batch.at(-1)!.id);
  }

  private emit(batch: readonly TransitionRecord[]): void {
    let text = '';
    for (const transition of batch) {
      if (this.filter.clusterId !== undefined && transition.clusterId !== this.filter.clusterId) continue;
      if (this.filter.kinds && !this.filter.kinds.has(transition.kind)) continue;
      text += `id: ${transition.id}\nevent: ${transition.kind}\ndata: ${JSON.stringify(toHistoryEntry(transition))}\n\n`;
    }
    if (text) this.write(text);
  }

  private write(text: string): void {
    if (this.closed) return;
    if (this.out.writableLength > MAX_QUEUED_BYTES) {
      this.logger.warn('watch stream: the client reads too slowly; closing its stream (it resumes with Last-Event-ID)', { queuedBytes: this.out.writableLength });
      this.abandon();
      return;
    }
    this.out.write(text);
  }
}
