import type { Insertable, Updateable } from 'kysely';
import type { NodeStatus, TerminationReason } from '../../shared/protocol.ts';
import type { InstancesTable, MonitorEventsTable } from './schema.ts';
import {
  type ClusterRecord,
  type ComponentReport,
  type InstanceFields,
  type InstanceRecord,
  type MonitorComponent,
  type MonitorEventRecord,
  type MonitorStatus,
  type NodeRecord,
  type Role,
  type TokenRecord,
} from './store.ts';
import { definedOnly } from '../../shared/defined-only.ts';

/** Rows as both engines return them (schema.ts), and their one conversion to records. */
type Row = Record<string, unknown>;

const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const strOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

function json<T>(value: unknown, fallback: T): T {
  if (typeof value !== 'string') return fallback;
  try {
    return JSON.parse(value) as T;
  } catch {
    return fallback;
  }
}

export function clusterFromRow(row: Row): ClusterRecord {
  return {
    id: num(row.id),
    name: String(row.name),
    provider: String(row.provider),
    regions: json<string[]>(row.regions, []),
    createdAt: num(row.created_at),
  };
}

export function tokenFromRow(row: Row): TokenRecord {
  return {
    id: String(row.id),
    role: row.role as Role,
    clusterId: numOrNull(row.cluster_id),
    hash: String(row.hash),
    label: String(row.label),
    createdAt: num(row.created_at),
    revokedAt: numOrNull(row.revoked_at),
  };
}

export function nodeFromRow(row: Row): NodeRecord {
  return {
    nodeId: String(row.id),
    clusterId: num(row.cluster_id),
    instanceId: num(row.instance_id),
    name: strOrNull(row.name),
    bootId: strOrNull(row.boot_id),
    tokenHash: String(row.token_hash),
    status: row.status as NodeStatus,
    joinedAt: num(row.joined_at),
    lastHeartbeat: num(row.last_heartbeat),
    terminatedAt: numOrNull(row.terminated_at),
    terminationReason: (row.termination_reason ?? null) as TerminationReason | null,
  };
}

export function instanceFromRow(row: Row): InstanceRecord {
  return {
    id: num(row.id),
    clusterId: num(row.cluster_id),
    hostname: String(row.hostname),
    uuid: strOrNull(row.uuid),
    createdAt: num(row.created_at),
    modifiedAt: num(row.modified_at),
    capacityAdjustment: String(row.capacity_adjustment),
    enabled: num(row.enabled) === 1,
    managedByPolicy: num(row.managed_by_policy) === 1,
    nodeType: String(row.node_type),
    nodeState: String(row.node_state),
    listenerPort: numOrNull(row.listener_port),
    peers: json<string[]>(row.peers, []),
    peersFromControlNodes: num(row.peers_from_control_nodes) === 1,
    facts: json(row.facts, {}),
    labels: json(row.labels, {}),
    healthStatus: (row.health_status ?? null) as InstanceRecord['healthStatus'],
    errors: String(row.errors ?? ''),
    lastHealthCheck: numOrNull(row.last_health_check),
    healthCheckStarted: numOrNull(row.health_check_started),
    healthCheckPending: num(row.health_check_pending) === 1,
    maintenanceUntil: numOrNull(row.maintenance_until),
    maintenanceReason: String(row.maintenance_reason ?? ''),
  };
}

/** The `errors` text of an instance after a health report: the failing checks with their output. */
export function errorsFromHealth(report: { checks: { name: string; status: string; output?: string | undefined }[] }): string {
  return report.checks
    .filter((check) => check.status !== 'passing')
    .map((check) => `${check.name}: ${check.status}${check.output ? `: ${check.output}` : ''}`)
    .join('\n');
}

export function eventFromRow(row: Row): MonitorEventRecord {
  const component = (name: MonitorComponent): ComponentReport => ({
    status: row[`${name}_status`] as MonitorStatus,
    selfInfo: String(row[`${name}_self_info`]),
    resourcesInfo: String(row[`${name}_resources_info`]),
  });
  return {
    id: String(row.id),
    recordedAt: num(row.recorded_at),
    allHealthy: num(row.all_healthy) === 1,
    components: { api: component('api'), compiler: component('compiler'), runner: component('runner') },
  };
}

/** An event as the row of monitor_events that stores it. */
export function eventRow(event: MonitorEventRecord): Insertable<MonitorEventsTable> {
  const { api, compiler, runner } = event.components;
  return {
    id: event.id,
    recorded_at: event.recordedAt,
    all_healthy: event.allHealthy ? 1 : 0,
    api_status: api.status,
    api_self_info: api.selfInfo,
    api_resources_info: api.resourcesInfo,
    compiler_status: compiler.status,
    compiler_self_info: compiler.selfInfo,
    compiler_resources_info: compiler.resourcesInfo,
    runner_status: runner.status,
    runner_self_info: runner.selfInfo,
    runner_resources_info: runner.resourcesInfo,
  };
}

/** The given instance fields as column values, in the stores' encoding (0/1 booleans, JSON arrays). */
export function instanceFieldValues(fields: Partial<InstanceFields>): Updateable<InstancesTable> {
  const flag = (value: boolean | undefined) => (value === undefined ? undefined : value ? 1 : 0);
  const values: Updateable<InstancesTable> = {
    hostname: fields.hostname,
    capacity_adjustment: fields.capacityAdjustment,
    enabled: flag(fields.enabled),
    managed_by_policy: flag(fields.managedByPolicy),
    node_type: fields.nodeType,
    node_state: fields.nodeState,
    listener_port: fields.listenerPort,
    peers: fields.peers && JSON.stringify(fields.peers),
    peers_from_control_nodes: flag(fields.peersFromControlNodes),
  };
  // Absent fields stay as they are: drop the keys rather than write undefined.
  return definedOnly(values);
}
