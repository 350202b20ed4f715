import type { Logger } from '../../shared/logger.ts';
import type { Component } from '../component-runner.ts';
import type { Store } from '../store/store.ts';

/** Active nodes read per page while the directory loads (each page a short query, then a turn of the event loop). */
const LOAD_PAGE = 5000;

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
 * no query. On start it loads every Active node in the background, page by page, so after a
 * restart the fleet is known within seconds instead of one store read per node's first
 * heartbeat (minutes at a million nodes). A miss meanwhile, or a node registered through
 * another replica, asks the store once and remembers the answer.
 */
export class NodeDirectory implements Component {
  readonly name = 'node directory';
  private readonly entries = new Map<string, NodeEntry>();
  /** Nodes terminated while a load runs: a page read before their end must not bring them back. */
  private endedDuringLoad: Set<string> | undefined;
  private stopped = false;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly logger?: Logger,
    private readonly pageSize = LOAD_PAGE,
  ) {}

  start(): void {
    this.stopped = false;
    this.loading = this.load().catch((error: unknown) => {
      // Not fatal: every node is still learned from the store on its first heartbeat.
      this.logger?.warn('loading the node directory failed; nodes are learned on their first heartbeat', { error });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loading;
  }

  /** Resolves when the load that start() began has ended (for tests and benchmarks). */
  loaded(): Promise<void> {
    return this.loading ?? Promise.resolve();
  }

  private async load(): Promise<void> {
    const started = Date.now();
    this.endedDuringLoad = new Set();
    let loaded = 0;
    try {
      for (let afterId = ''; !this.stopped; ) {
        const page = await this.store.activeNodes(afterId, this.pageSize);
        for (const node of page) {
          if (this.entries.has(node.nodeId) || this.endedDuringLoad.has(node.nodeId)) continue;
          this.entries.set(node.nodeId, { ...node, active: true });
          loaded += 1;
        }
        if (page.length < this.pageSize) break;
        afterId = page[page.length - 1]!.nodeId;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.endedDuringLoad = undefined;
    }
    if (!this.stopped) this.logger?.info('node directory loaded', { activeNodes: loaded, durationMs: Date.now() - started });
  }

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
    this.endedDuringLoad?.add(nodeId);
  }

  get size(): number {
    return this.entries.size;
  }
}
