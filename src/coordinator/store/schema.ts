import { type Generated, type Kysely, sql } from 'kysely';

/**
 * The tables as migrations.ts creates them, in one definition that types every query of both
 * stores. Timestamps are integer milliseconds since the epoch, booleans 0/1 integers and lists
 * or maps JSON text, so both engines return the same values.
 */
export interface ClustersTable {
  id: Generated<number>;
  name: string;
  provider: Generated<string>;
  /** JSON array of strings. */
  regions: Generated<string>;
  created_at: number;
}

export interface TokensTable {
  id: string;
  role: string;
  cluster_id: number | null;
  hash: string;
  label: Generated<string>;
  created_at: number;
  revoked_at: number | null;
}

export interface InstancesTable {
  id: Generated<number>;
  cluster_id: number;
  hostname: string;
  uuid: string | null;
  created_at: number;
  modified_at: number;
  capacity_adjustment: Generated<string>;
  enabled: Generated<number>;
  managed_by_policy: Generated<number>;
  node_type: Generated<string>;
  node_state: Generated<string>;
  listener_port: number | null;
  /** JSON array of strings. */
  peers: Generated<string>;
  peers_from_control_nodes: Generated<number>;
  /** JSON object (NodeFacts). */
  facts: Generated<string>;
  /** JSON object (Labels). */
  labels: Generated<string>;
  health_status: string | null;
  errors: Generated<string>;
  last_health_check: number | null;
  health_check_started: number | null;
  health_check_pending: Generated<number>;
  /** Kept in step with `facts` by the store itself (migration 3): never written by a query. */
  cpu_capacity: Generated<number>;
  mem_capacity: Generated<number>;
  jobs_running: Generated<number>;
  /** Planned downtime (migration 10): the instance's silence is expected until then; null when none. */
  maintenance_until: number | null;
  maintenance_reason: Generated<string>;
}

export interface NodesTable {
  id: string;
  cluster_id: number;
  instance_id: number;
  name: string | null;
  boot_id: string | null;
  token_hash: string;
  status: string;
  joined_at: number;
  last_heartbeat: number;
  terminated_at: number | null;
  termination_reason: string | null;
  /** The agent process that registered the node (migration 8): tells an agent restart from a cut-off. */
  agent_process: string | null;
  /** 1 when the node was timed out while its instance was in maintenance (migration 10): the guard does not count it. */
  timed_out_in_maintenance: Generated<number>;
}

/** One transition of an instance's nodes with its evidence (migration 8); the id orders the watch stream. */
export interface NodeTransitionsTable {
  id: Generated<number>;
  recorded_at: number;
  kind: string;
  cluster_id: number;
  instance_id: number | null;
  node_id: string | null;
  reason: string | null;
  /** JSON object: the evidence of this kind of transition (store.ts). */
  evidence: string;
}

/** A webhook sink's place in the transitions log (migration 9): the last event id it enqueued. */
export interface WebhookCursorsTable {
  sink: string;
  last_event_id: number;
  updated_at: number;
}

/** One event on its way to one webhook sink (migration 9); kept a while once delivered. */
export interface WebhookOutboxTable {
  sink: string;
  event_id: number;
  enqueued_at: number;
  attempts: Generated<number>;
  next_attempt_at: number;
  last_error: string | null;
  delivered_at: number | null;
}

export interface MonitorEventsTable {
  id: string;
  recorded_at: number;
  all_healthy: number;
  api_status: string;
  api_self_info: string;
  api_resources_info: string;
  compiler_status: string;
  compiler_self_info: string;
  compiler_resources_info: string;
  runner_status: string;
  runner_self_info: string;
  runner_resources_info: string;
}

export interface HoldLiftRequestsTable {
  id: number;
  sequence: number;
  requested_at: number;
}

export interface CoordinatorReplicasTable {
  id: string;
  started_at: number;
  seen_at: number;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface StoreTables {
  clusters: ClustersTable;
  tokens: TokensTable;
  instances: InstancesTable;
  nodes: NodesTable;
  node_transitions: NodeTransitionsTable;
  monitor_events: MonitorEventsTable;
  hold_lift_requests: HoldLiftRequestsTable;
  coordinator_replicas: CoordinatorReplicasTable;
  webhook_cursors: WebhookCursorsTable;
  webhook_outbox: WebhookOutboxTable;
  schema_migrations: SchemaMigrationsTable;
}

/** A connection to the store's database, or a transaction on it: queries accept either. */
export type Db = Kysely<StoreTables>;

/**
 * Values that the partial indexes of migrations.ts name, spelled as literals in the SQL: the
 * planner uses such an index only when the query's condition visibly matches the index's, which
 * a bound parameter never does on SQLite.
 */
export const ACTIVE = sql.lit('Active');
export const TERMINATED = sql.lit('Terminated');
export const TIMED_OUT = sql.lit('HeartbeatTimeout');
export const CHECK_PENDING = sql.lit(1);
