import type { Logger } from '../../shared/logger.ts';
import type { Component } from '../component-runner.ts';
import type { NodeRecord, Store } from '../store/store.ts';
import type { TimeoutGrace } from '../sweeper/safety-holds.ts';
import { HeartbeatBuffer } from './heartbeat-buffer.ts';
import type { NodeDirectory } from './node-directory.ts';

export interface HeartbeatFreshnessDeps {
  store: Store;
  directory: NodeDirectory;
  logger: Logger;
  /** Heartbeats are written in one batch this often, and once more on stop. */
  flushIntervalMs: number;
  /** Told when writing heartbeats works again after failing: those heartbeats reach the store late. */
  grace: TimeoutGrace;
}

/**
 * The one owner of "when did this node last heartbeat": heartbeats are received into memory
 * and written in batches, so the answer is the store's value or a newer one still here. The
 * sweeper, the read APIs and registration ask here, and only here.
 */
export class HeartbeatFreshness implements Component {
  readonly name = 'heartbeat freshness';
  private readonly buffer = new HeartbeatBuffer();
  private timer: NodeJS.Timeout | undefined;
  /** Logged once per failing spell (a store outage fails every flush), and once when writes work again. */
  private failing = false;

  constructor(private readonly deps: HeartbeatFreshnessDeps) {}

  record(nodeId: string, at: number): void {
    this.buffer.record(nodeId, at);
  }

  /**
   * A node's newest heartbeat: the later of the store's and one still in this replica's memory.
   * Memory counts only for a node the store has Active: a heartbeat buffered before a termination
   * is dropped when it is written, and never revives the node.
   */
  newestHeartbeat(node: Pick<NodeRecord, 'nodeId' | 'status' | 'lastHeartbeat'>): number {
    const pending = node.status === 'Active' ? this.buffer.pendingFor(node.nodeId) : undefined;
    return Math.max(node.lastHeartbeat, pending ?? 0);
  }

  /** Heartbeats waiting for the next batched write. */
  get pending(): number {
    return this.buffer.size;
  }

  /**
   * Writes every heartbeat received before the call; the nodes the store no longer has Active
   * leave the directory. Rejects when the store does: the heartbeats stay for the next try.
   */
  async flush(): Promise<void> {
    const dropped = await this.buffer.flush(this.deps.store);
    for (const nodeId of dropped) this.deps.directory.markTerminated(nodeId);
  }

  start(): void {
    this.timer = setInterval(() => void this.scheduledFlush(), this.deps.flushIntervalMs);
  }

  /** Stops the schedule and writes what is left: the last heartbeats before a graceful shutdown. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.scheduledFlush();
  }

  /** A flush that never rejects: a failure is logged once and retried on the next one. */
  private async scheduledFlush(): Promise<void> {
    try {
      await this.flush();
    } catch (error) {
      if (!this.failing) this.deps.logger.error('writing heartbeats failed; keeping them for the next try', { error });
      this.failing = true;
      return;
    }
    if (!this.failing) return;
    this.failing = false;
    this.deps.logger.info('writing heartbeats works again');
    // Heartbeats this replica received meanwhile are in the store only now: a gap in its progress.
    this.deps.grace.grantGrace('store outage');
  }
}
