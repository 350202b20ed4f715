import type { NodeStatus, TerminationReason } from '../../shared/protocol.ts';
import {
  type ClusterRecord,
  type ComponentReport,
  type InstanceFields,
  type InstanceRecord,
  MONITOR_COMPONENTS,
  type MonitorComponent,
  type MonitorEventRecord,
  type MonitorStatus,
  type NodeRecord,
  type Role,
  type TokenRecord,
} from './store.ts';

/** Row shapes as both dialects return them (snake_case columns), and their one conversion. */
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

/** The columns of monitor_events in one fixed order, and an event's values in that order. */
export const EVENT_COLUMNS = [
  'id',
  'recorded_at',
  'all_healthy',
  ...MONITOR_COMPONENTS.flatMap((name) => [`${name}_status`, `${name}_self_info`, `${name}_resources_info`]),
];

export function eventValues(event: MonitorEventRecord): (string | number)[] {
  return [
    event.id,
    event.recordedAt,
    event.allHealthy ? 1 : 0,
    ...MONITOR_COMPONENTS.flatMap((name) => {
      const report = event.components[name];
      return [report.status, report.selfInfo, report.resourcesInfo];
    }),
  ];
}

const INSTANCE_FIELD_COLUMNS: Record<keyof InstanceFields, string> = {
  hostname: 'hostname',
  capacityAdjustment: 'capacity_adjustment',
  enabled: 'enabled',
  managedByPolicy: 'managed_by_policy',
  nodeType: 'node_type',
  nodeState: 'node_state',
  listenerPort: 'listener_port',
  peers: 'peers',
  peersFromControlNodes: 'peers_from_control_nodes',
};

/** The given instance fields as (column, value) pairs, in the stores' encoding (0/1 booleans, JSON arrays). */
export function instanceFieldColumns(fields: Partial<InstanceFields>): [string, string | number | null][] {
  const pairs: [string, string | number | null][] = [];
  for (const [key, column] of Object.entries(INSTANCE_FIELD_COLUMNS) as [keyof InstanceFields, string][]) {
    const value = fields[key];
    if (value === undefined) continue;
    pairs.push([column, typeof value === 'boolean' ? (value ? 1 : 0) : Array.isArray(value) ? JSON.stringify(value) : value]);
  }
  return pairs;
}
