import type { Store } from '../store/store.ts';

/** What the hot path needs to know about a node: its token hash and whether it is still Active. */
export interface NodeEntry {
  nodeId: string;
  clusterId: number;
  instanceId: number;
  tokenHash: string;
  active: boolean;
}

/**
 * An in-memory directory of nodes in front of the store, so a heartbeat costs a map lookup and
 * no query. A miss (a node registered through another replica, or after a restart) asks the
 * store once and remembers the answer.
 */
export class NodeDirectory {
  private readonly entries = new Map<string, NodeEntry>();

  constructor(private readonly store: Store) {}

  /** The entry if this replica already knows the node, without asking the store. */
  peek(nodeId: string): NodeEntry | undefined {
    return this.entries.get(nodeId);
  }

  async get(nodeId: string): Promise<NodeEntry | undefined> {
    const cached = this.entries.get(nodeId);
    if (cached) return cached;
    const node = await this.store.getNode(nodeId);
    if (!node) return undefined;
    const entry: NodeEntry = {
      nodeId,
      clusterId: node.clusterId,
      instanceId: node.instanceId,
      tokenHash: node.tokenHash,
      active: node.status === 'Active',
    };
    if (entry.active) this.entries.set(nodeId, entry);
    return entry;
  }

  add(entry: NodeEntry): void {
    this.entries.set(entry.nodeId, entry);
  }

  /** The node is Terminated: forget it; a later lookup reads its final state from the store. */
  markTerminated(nodeId: string): void {
    this.entries.delete(nodeId);
  }

  get size(): number {
    return this.entries.size;
  }
}
