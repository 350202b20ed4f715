import type { NodeRecord, Store } from '../store/store.ts';

/**
 * Heartbeat timestamps are soft state: kept here and written to the store in one batch at most
 * every flush interval (and on graceful shutdown). A crash loses at most that interval of
 * timestamps, never a node or a termination.
 */
export class HeartbeatBuffer {
  private pending = new Map<string, number>();
  /** The batch being written: still the newest word on its nodes until the write commits. */
  private writing = new Map<string, number>();
  private flushing: Promise<string[]> | undefined;

  record(nodeId: string, at: number): void {
    this.pending.set(nodeId, at);
  }

  /** The newest heartbeat not yet written (or being written), if any. */
  pendingFor(nodeId: string): number | undefined {
    return this.pending.get(nodeId) ?? this.writing.get(nodeId);
  }

  /** A node's newest heartbeat: the store's value, or a newer one still here (only an Active node's counts). */
  newestFor(node: Pick<NodeRecord, 'nodeId' | 'status' | 'lastHeartbeat'>): number {
    const pending = node.status === 'Active' ? this.pendingFor(node.nodeId) : undefined;
    return Math.max(node.lastHeartbeat, pending ?? 0);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Writes everything pending in one batch; returns the nodes the store no longer has Active. */
  async flush(store: Store): Promise<string[]> {
    // One flush at a time; a caller arriving during a flush waits for it, then flushes what came since.
    while (this.flushing) await this.flushing.catch(() => undefined);
    if (this.pending.size === 0) return [];
    const batch = this.pending;
    this.pending = new Map();
    this.writing = batch;
    this.flushing = store.writeHeartbeats(Array.from(batch, ([nodeId, at]) => ({ nodeId, at })));
    try {
      return await this.flushing;
    } catch (error) {
      // Keep the batch for the next try, without overwriting newer heartbeats that came meanwhile.
      for (const [nodeId, at] of batch) if (!this.pending.has(nodeId)) this.pending.set(nodeId, at);
      throw error;
    } finally {
      this.flushing = undefined;
      this.writing = new Map();
    }
  }
}
