import type { HealthReport, Labels, NodeFacts, NodeStatus, TerminationReason } from '../../shared/protocol.ts';

/**
 * The one store interface. Routes, the sweeper and the CLI see only this; open-store.ts is the
 * only importer of the implementations. All times are milliseconds since the epoch from the
 * coordinator's clock. Every method that changes hard state commits before it resolves.
 */

export type Role = 'admin' | 'reader' | 'enroll';
export const ROLES: readonly Role[] = ['admin', 'reader', 'enroll'];

export interface ClusterRecord {
  id: number;
  name: string;
  provider: string;
  regions: string[];
  createdAt: number;
}

export interface TokenRecord {
  id: string;
  role: Role;
  clusterId: number | null;
  hash: string;
  label: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface NodeRecord {
  nodeId: string;
  clusterId: number;
  instanceId: number;
  name: string | null;
  bootId: string | null;
  tokenHash: string;
  status: NodeStatus;
  joinedAt: number;
  lastHeartbeat: number;
  terminatedAt: number | null;
  terminationReason: TerminationReason | null;
}

export interface InstanceRecord {
  id: number;
  clusterId: number;
  hostname: string;
  uuid: string | null;
  createdAt: number;
  modifiedAt: number;
  capacityAdjustment: string;
  enabled: boolean;
  managedByPolicy: boolean;
  nodeType: string;
  nodeState: string;
  listenerPort: number | null;
  peers: string[];
  peersFromControlNodes: boolean;
  facts: NodeFacts;
  labels: Labels;
  healthStatus: HealthReport['status'] | null;
  errors: string;
  lastHealthCheck: number | null;
  healthCheckStarted: number | null;
  healthCheckPending: boolean;
}

export interface RegisterNodeInput {
  clusterId: number;
  identity?: string | undefined;
  hostname: string;
  name?: string | undefined;
  bootId?: string | undefined;
  labels?: Labels | undefined;
  facts?: NodeFacts | undefined;
  nodeId: string;
  tokenHash: string;
  now: number;
  /** An Active node of the instance that heartbeated at or after this from another boot is a clone. */
  duplicateSince: number;
}

export type RegisterNodeResult =
  | { outcome: 'registered'; node: NodeRecord; instanceId: number; supersededNodeId: string | null }
  | { outcome: 'duplicate'; activeNodeId: string; lastHeartbeat: number }
  | { outcome: 'hostname-taken'; hostname: string };

export interface ExpiredNode {
  nodeId: string;
  clusterId: number;
  lastHeartbeat: number;
}

export interface HeartbeatWrite {
  nodeId: string;
  at: number;
}

export interface InstanceReport {
  facts?: NodeFacts | undefined;
  health?: HealthReport | undefined;
  now: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Runs pending versioned migrations. */
  migrate(): Promise<void>;
  /** Resolves when the store answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;

  ensureCluster(name: string, now: number): Promise<ClusterRecord>;
  findClusterByName(name: string): Promise<ClusterRecord | undefined>;
  findClusterById(id: number): Promise<ClusterRecord | undefined>;

  insertToken(token: TokenRecord): Promise<void>;
  findTokenByHash(hash: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /** Revokes by id; false when there is no such unrevoked token. */
  revokeToken(id: string, now: number): Promise<boolean>;

  /** One transaction: finds or creates the instance, supersedes its Active node, inserts the node. */
  registerNode(input: RegisterNodeInput): Promise<RegisterNodeResult>;
  getNode(nodeId: string): Promise<NodeRecord | undefined>;
  listNodes(clusterId: number, includeTerminated: boolean): Promise<NodeRecord[]>;
  /** Conditional: only an Active node changes. True when this call terminated it. */
  terminateNode(nodeId: string, reason: TerminationReason, now: number): Promise<boolean>;
  /** One batch; returns the node ids that are no longer Active (their heartbeats were dropped). */
  writeHeartbeats(batch: readonly HeartbeatWrite[]): Promise<string[]>;
  /** Active nodes whose last heartbeat is older than the cutoff, oldest first (index range scan). */
  findExpiredNodes(cutoff: number, limit: number): Promise<ExpiredNode[]>;
  countActiveNodes(clusterIds: readonly number[]): Promise<Map<number, number>>;
  /** Conditional on `status = Active AND last_heartbeat < cutoff`: returns the ids it terminated. */
  terminateExpired(nodeIds: readonly string[], cutoff: number, now: number): Promise<string[]>;

  getInstance(id: number): Promise<InstanceRecord | undefined>;
  recordInstanceReport(instanceId: number, report: InstanceReport): Promise<void>;
}
