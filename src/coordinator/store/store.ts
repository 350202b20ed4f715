import type { HealthReport, Labels, NodeFacts, NodeStatus, TerminationReason } from '../../shared/protocol.ts';
import type { InstanceSummaryRow, InstanceTally } from './instance-tally.ts';
import type { WebhookOutbox } from './outbox.ts';
import type { RegistrationClaim, RegistrationRefusal } from './plan-registration.ts';
import type { AgentContinuity, NewTransition, TerminationContext, TransitionRecord } from './transitions.ts';

export type { InstanceSummaryRow, InstanceTally } from './instance-tally.ts';
export type { TerminationContext, TransitionRecord } from './transitions.ts';

/**
 * The one store interface. Routes, the sweeper and the CLI see only this; open-store.ts is the
 * only importer of the implementations. All times are milliseconds since the epoch from the
 * coordinator's clock. Every method that changes hard state commits before it resolves.
 */

/**
 * The largest id of an instance or a cluster: PostgreSQL's `integer` ends here, and a larger one
 * in a query is an error there, not a miss. Requests naming a larger id are refused as invalid.
 */
export const MAX_STORE_ID = 2_147_483_647;

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
  /** Planned downtime: its silence is expected until then (coordinator time); null when none. */
  maintenanceUntil: number | null;
  maintenanceReason: string;
}

/** An instance's maintenance window as an admin sets it: until null ends it. */
export interface MaintenanceWindow {
  until: number | null;
  reason: string;
}

/** An instance in maintenance, as the fleet counts and the sweeper keep it. */
export interface MaintenanceEntry {
  instanceId: number;
  clusterId: number;
  until: number;
}

/** A cluster's Active nodes whose instances are in maintenance: how many, and how many are silent past the overdue cutoff. */
export interface MaintenanceSilence {
  active: number;
  overdue: number;
}

/** A registration; its claim (identity, hostname, boot id, heartbeats) decides the fate of the instance's Active node (plan-registration.ts). */
export interface RegisterNodeInput extends RegistrationClaim {
  clusterId: number;
  name?: string | undefined;
  labels?: Labels | undefined;
  facts?: NodeFacts | undefined;
  nodeId: string;
  tokenHash: string;
  now: number;
  /** Evidence recorded in the transitions log: the client's address, the agent's own account, the replica. */
  address?: string | undefined;
  agent?: AgentContinuity | undefined;
  replica?: string | undefined;
}

export type RegisterNodeResult =
  | { outcome: 'registered'; node: NodeRecord; instanceId: number; supersededNodeId: string | null }
  | RegistrationRefusal
  | { outcome: 'hostname-taken'; hostname: string };

/** What a replica must know of an Active node to authenticate its heartbeats. */
export interface ActiveNodeKey {
  nodeId: string;
  clusterId: number;
  instanceId: number;
  tokenHash: string;
}

export interface ExpiredNode {
  nodeId: string;
  clusterId: number;
  lastHeartbeat: number;
}

/** One cluster's silent Active nodes, counted exactly (an aggregate, not a page). */
export interface SilenceCounts {
  clusterId: number;
  /** Silent since before the expiry cutoff. */
  expired: number;
  /** Silent since before the overdue cutoff (the expired ones among them). */
  overdue: number;
}

export interface HeartbeatWrite {
  nodeId: string;
  at: number;
}

export interface InstanceReport {
  facts?: NodeFacts | undefined;
  health?: HealthReport | undefined;
  labels?: Labels | undefined;
  now: number;
}

/** The fields of seed 003 an admin writes (create and PATCH). */
export type InstanceFields = Pick<
  InstanceRecord,
  'hostname' | 'capacityAdjustment' | 'enabled' | 'managedByPolicy' | 'nodeType' | 'nodeState' | 'listenerPort' | 'peers' | 'peersFromControlNodes'
>;

export type NewInstance = InstanceFields & {
  clusterId: number;
  uuid: string;
  now: number;
};

export interface InstanceFilter {
  clusterIds?: readonly number[] | undefined;
  hostname?: string | undefined;
  enabled?: boolean | undefined;
}

/** A page of instances in id order. */
export interface InstancePage {
  offset: number;
  limit: number;
}

export type InstanceWriteResult =
  | { outcome: 'ok'; instance: InstanceRecord }
  | { outcome: 'hostname-taken' }
  | { outcome: 'not-found' };

export type DeleteInstanceResult = 'deleted' | 'not-found' | 'active-node';
export type HealthCheckRequestResult = 'started' | 'already-pending' | 'not-found';

export interface PendingHealthCheck {
  instanceId: number;
  startedAt: number;
}

export type MonitorComponent = 'api' | 'compiler' | 'runner';
export const MONITOR_COMPONENTS: readonly MonitorComponent[] = ['api', 'compiler', 'runner'];
export type MonitorStatus = 'Healthy' | 'Unhealthy' | 'InitialUnhealthy';

export interface ComponentReport {
  status: MonitorStatus;
  selfInfo: string;
  resourcesInfo: string;
}

/** One cluster monitor event (seed 004); ids are time-ordered UUIDs. */
export interface MonitorEventRecord {
  id: string;
  recordedAt: number;
  allHealthy: boolean;
  components: Record<MonitorComponent, ComponentReport>;
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
  /** Active nodes with id > afterId, by id, as the node directory keeps them: key-based pages for loading it at start. */
  activeNodes(afterId: string, limit: number): Promise<ActiveNodeKey[]>;
  listNodes(clusterId: number, includeTerminated: boolean): Promise<NodeRecord[]>;
  /** Conditional: only an Active node changes. True when this call terminated it (and logged the transition). */
  terminateNode(nodeId: string, reason: TerminationReason, now: number, context?: TerminationContext): Promise<boolean>;
  /** One batch; returns the node ids that are no longer Active (their heartbeats were dropped). */
  writeHeartbeats(batch: readonly HeartbeatWrite[]): Promise<string[]>;
  /** Active nodes whose last heartbeat is older than the cutoff, oldest first (index range scan); of one cluster when given. */
  findExpiredNodes(cutoff: number, limit: number, clusterId?: number): Promise<ExpiredNode[]>;
  /** Every cluster with an Active node silent since before `expiredBefore`, with its exact counts. */
  silenceByCluster(expiredBefore: number, overdueBefore: number, clusterId?: number): Promise<SilenceCounts[]>;
  /** Nodes timed out (HeartbeatTimeout) per cluster at or after that cluster's window start, but none timed out during maintenance. */
  countTimedOut(windowStarts: ReadonlyMap<number, number>): Promise<Map<number, number>>;
  /** The oldest last heartbeat of any Active node (index order), null when none is Active: the next deadline. */
  oldestActiveHeartbeat(): Promise<number | null>;
  countActiveNodes(clusterIds: readonly number[]): Promise<Map<number, number>>;
  /** Conditional on `status = Active AND last_heartbeat < cutoff`: returns the ids it terminated (each logged with its deadline, and its maintenance window when its instance is in one). */
  terminateExpired(nodeIds: readonly string[], cutoff: number, now: number, context?: TerminationContext): Promise<string[]>;

  /** The webhook sinks' cursors in the transitions log and their undelivered events (outbox.ts). */
  readonly webhookOutbox: WebhookOutbox;

  // The transitions log (transitions.ts): every registration, termination and refused
  // registration, written in the transaction of the change it records.
  /** Appends transitions that record no other change of the store (a mass-silence hold), in one transaction. */
  recordTransitions(transitions: readonly NewTransition[]): Promise<void>;
  /** One instance's transitions, newest first. */
  instanceHistory(instanceId: number, offset: number, limit: number): Promise<TransitionRecord[]>;
  countInstanceHistory(instanceId: number): Promise<number>;
  /** Transitions with an id above this one, oldest first: the watch stream's read. */
  transitionsAfter(afterId: number, limit: number): Promise<TransitionRecord[]>;
  /** The oldest and newest ids in the log, null when it is empty. */
  transitionIdRange(): Promise<{ oldest: number; newest: number } | null>;
  /** Deletes at most `limit` transitions recorded before `olderThan`; returns how many went. */
  pruneTransitions(olderThan: number, limit: number): Promise<number>;
  /** Deletes at most `limit` nodes Terminated before `olderThan`, never an instance's newest; returns how many went. */
  pruneTerminatedNodes(olderThan: number, limit: number): Promise<number>;

  getInstance(id: number): Promise<InstanceRecord | undefined>;
  recordInstanceReport(instanceId: number, report: InstanceReport): Promise<void>;

  /** Clusters with id > afterId, by id: key-based pagination that stays stable while clusters are added. */
  listClusters(afterId: number, limit: number): Promise<ClusterRecord[]>;
  countClusters(): Promise<number>;
  updateCluster(id: number, fields: { provider?: string | undefined; regions?: string[] | undefined }): Promise<ClusterRecord | undefined>;

  /** Instances matching every given filter, by id; one page of them when `page` is given. */
  listInstances(filter: InstanceFilter, page?: InstancePage): Promise<InstanceRecord[]>;
  countInstances(filter: InstanceFilter): Promise<number>;
  /** Counts and capacity per cluster in one aggregate query (every cluster when clusterIds is absent). */
  tallyInstances(clusterIds?: readonly number[]): Promise<InstanceTally[]>;
  /** Instances with id > afterId as the tally counts them, by id: key-based pages that skip nothing while instances come and go. */
  instanceSummaries(afterId: number, limit: number): Promise<InstanceSummaryRow[]>;
  /** The distinct `region` labels the agents of these clusters report, by cluster id. */
  regionLabels(clusterIds: readonly number[]): Promise<Map<number, string[]>>;
  /** The newest node of each instance that has one (its Active node when it has one). */
  latestNodes(instanceIds: readonly number[]): Promise<NodeRecord[]>;
  createInstance(input: NewInstance): Promise<InstanceWriteResult>;
  updateInstance(id: number, fields: Partial<InstanceFields>, now: number): Promise<InstanceWriteResult>;
  /** Deletes the instance and its Terminated nodes; refused while it has an Active node. */
  deleteInstance(id: number): Promise<DeleteInstanceResult>;
  /** Sets the instance's maintenance window in one transaction with its `maintenance-changed` transition (none when nothing changed). */
  setMaintenance(id: number, window: MaintenanceWindow, now: number): Promise<InstanceWriteResult>;
  /** Instances whose maintenance lasts beyond `now`. */
  instancesInMaintenance(now: number): Promise<MaintenanceEntry[]>;
  /** Records `maintenance-changed` (ended, by the coordinator) for every window that ended in (after, upTo]; returns how many. */
  recordMaintenanceEnds(after: number, upTo: number): Promise<number>;
  /** The cluster's Active nodes of instances in maintenance at `now`, and those of them silent since before `overdueBefore`. */
  maintenanceSilence(clusterId: number, now: number, overdueBefore: number): Promise<MaintenanceSilence>;
  /** Conditional: starts a check only when none is pending. */
  requestHealthCheck(id: number, now: number): Promise<HealthCheckRequestResult>;
  listPendingHealthChecks(): Promise<PendingHealthCheck[]>;
  /** Conditional on still pending and started before `startedBefore`: records `errors`, clears pending; returns the ids it changed. */
  failHealthChecks(startedBefore: number, errors: string, now: number): Promise<number[]>;

  /** Counts an operator's request to lift the safety holds, for whichever replica sweeps. */
  requestHoldLift(now: number): Promise<void>;
  /** How many lifts were ever requested (0 when none): the sweeping replica applies each new one. */
  holdLiftSequence(): Promise<number>;

  /** This replica is alive (started then, seen now); rows not seen since `forgetBefore` go. */
  touchReplica(id: string, startedAt: number, now: number, forgetBefore: number): Promise<void>;
  /** Replicas seen at or after this time. */
  countReplicas(seenSince: number): Promise<number>;

  insertEvent(event: MonitorEventRecord): Promise<void>;
  getEvent(id: string): Promise<MonitorEventRecord | undefined>;
  /** Newest first. */
  listEvents(limit: number): Promise<MonitorEventRecord[]>;
  /** Keeps at most `keep` events and none recorded before `olderThan`, but never the newest; returns how many went. */
  pruneEvents(keep: number, olderThan: number): Promise<number>;
}
