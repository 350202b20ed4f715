import type { Store } from '../store/store.ts';

/**
 * Heartbeat timestamps not yet in the store, written in batches. A crash loses at most one
 * batch's worth of timestamps, never a node or a termination. HeartbeatFreshness owns it.
 */
export class HeartbeatBuffer {
  private pending = new Map<string, number>();
  /** The batch being written: still the newest word on its nodes until the write commits. */
  private writing = new Map<string, number>();
  private flushing: Promise<string[]> | undefined;
  /** The flush after the one under way, shared by every caller that arrived during it. */
  private next: Promise<string[]> | undefined;

  record(nodeId: string, at: number): void {
    this.pending.set(nodeId, at);
  }

  /** The newest heartbeat not yet written (or being written), if any. */
  pendingFor(nodeId: string): number | undefined {
    return this.pending.get(nodeId) ?? this.writing.get(nodeId);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Writes every heartbeat recorded before the call; returns the nodes the store no longer has
   * Active. One write at a time: a caller arriving during a write waits for it, and every such
   * caller shares the one write that follows (so a crowd of callers costs two writes, not one each).
   */
  flush(store: Store): Promise<string[]> {
    if (!this.flushing) return this.write(store);
    this.next ??= this.flushing
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.flush(store);
      });
    return this.next;
  }

  private async write(store: Store): Promise<string[]> {
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
