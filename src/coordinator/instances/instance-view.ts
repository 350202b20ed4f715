import { toRfc3339 } from '../../shared/clock.ts';
import { nameBasedUuid } from '../name-based-uuid.ts';
import type { AgentReport } from '../state/agent-reports.ts';
import type { InstanceRecord, NodeRecord } from '../store/store.ts';
import type { HealthView, Instance } from './instance-schemas.ts';

/** Everything the derived fields of one instance depend on. */
export interface InstanceSnapshot {
  instance: InstanceRecord;
  /** Its Active node, else its newest node; undefined before the first registration. */
  latestNode: NodeRecord | undefined;
  /** The newest heartbeat of that node, the in-memory buffer included; null before the first registration. */
  lastSeen: number | null;
  clusterName: string;
  /** Its agent's latest self-report through this replica, if any. */
  agent?: AgentReport | undefined;
}

export const instanceUrl = (id: number) => `/api/v2/instances/${id}/`;

/**
 * node_state: the admin's value until the first registration; then `ready` with an Active node and
 * no failing check, `deprovisioning` while disabled with an Active node, `unavailable` otherwise.
 */
export function deriveNodeState({ instance, latestNode }: InstanceSnapshot): Instance['node_state'] {
  if (!latestNode) return instance.nodeState as Instance['node_state'];
  if (latestNode.status !== 'Active') return 'unavailable';
  if (!instance.enabled) return 'deprovisioning';
  return instance.healthStatus === 'critical' ? 'unavailable' : 'ready';
}

/** An instance is running when it has an Active node. */
export const isRunning = (snapshot: InstanceSnapshot) => snapshot.latestNode?.status === 'Active';

/** Parses "0.5", "0.50" or 0.5 into AWX's two-place text; undefined when out of 0..1 or more precise. */
export function normalizeAdjustment(value: string | number): string | undefined {
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(number) || number < 0 || number > 1) return undefined;
  if (Math.abs(Math.round(number * 100) - number * 100) > 1e-9) return undefined;
  return number.toFixed(2);
}

/**
 * AWX's capacity: between the smaller and the larger of cpu_capacity and mem_capacity, by
 * capacity_adjustment. 0 for hop nodes, without an Active node and while a check is failing.
 */
export function capacityOf(snapshot: InstanceSnapshot): number {
  const { instance } = snapshot;
  if (instance.nodeType === 'hop' || !isRunning(snapshot) || instance.healthStatus === 'critical') return 0;
  const cpu = instance.facts.capacity?.cpuCapacity ?? 0;
  const mem = instance.facts.capacity?.memCapacity ?? 0;
  const lower = Math.min(cpu, mem);
  const higher = Math.max(cpu, mem);
  return Math.floor(lower + (higher - lower) * Number(instance.capacityAdjustment));
}

/** A stable uuid for an instance whose agent sent no identity: derived from its cluster and id. */
export function fallbackUuid(clusterId: number, id: number): string {
  return nameBasedUuid(`nodepulse:instance:${clusterId}:${id}`);
}

const orNull = (ms: number | null) => (ms === null ? null : toRfc3339(ms));

/** The agent's figures behind fields of seed 002 (cpu, memory, the three capacities, ip_address). */
const INSTANCE_FIGURES = new Set(['cpu', 'memory', 'capacity', 'ipAddress']);

/**
 * AWX's `errors`, the place for "why this instance has no capacity": the failing checks of the
 * latest health report, then each of those figures the agent could not collect
 * (`figure: unknown: reason`), which their fields can only show as 0 or "".
 */
function errorsOf(instance: InstanceRecord): string {
  const unknown = (instance.facts.unknown ?? [])
    .filter(({ figure }) => INSTANCE_FIGURES.has(figure))
    .map(({ figure, reason }) => `${figure}: unknown: ${reason}`);
  return [instance.errors, ...unknown].filter((line) => line !== '').join('\n');
}

export function toHealthView(snapshot: InstanceSnapshot): HealthView {
  const { instance } = snapshot;
  const facts = instance.facts;
  return {
    uuid: instance.uuid ?? fallbackUuid(instance.clusterId, instance.id),
    hostname: instance.hostname,
    ip_address: facts.ipAddress ?? '',
    version: facts.agentVersion ?? '',
    last_health_check: orNull(instance.lastHealthCheck),
    errors: errorsOf(instance),
    cpu: (facts.cpu?.cpus ?? 0).toFixed(1),
    memory: facts.memory?.totalBytes ?? 0,
    cpu_capacity: facts.capacity?.cpuCapacity ?? 0,
    mem_capacity: facts.capacity?.memCapacity ?? 0,
    capacity: capacityOf(snapshot),
  };
}

/** An instance is in maintenance while its window lasts, by the coordinator's clock: no timer ends it. */
export const inMaintenance = (instance: Pick<InstanceRecord, 'maintenanceUntil'>, now: number) => instance.maintenanceUntil !== null && instance.maintenanceUntil > now;

/** Seed 002's instance record (with nodepulse's maintenance fields). consumed_capacity is the agent's jobs_running (one unit per job). */
export function toInstanceView(snapshot: InstanceSnapshot, now: number): Instance {
  const { instance } = snapshot;
  const health = toHealthView(snapshot);
  const jobsRunning = instance.facts.jobsRunning ?? 0;
  const remaining = health.capacity > 0 ? Math.max(0, Math.round(((health.capacity - jobsRunning) / health.capacity) * 10_000) / 100) : 0;
  return {
    id: instance.id,
    hostname: instance.hostname,
    type: 'instance',
    url: instanceUrl(instance.id),
    related: { health_check: `${instanceUrl(instance.id)}health_check/` },
    summary_fields: {
      cluster: { id: instance.clusterId, name: snapshot.clusterName },
      ...(snapshot.agent
        ? { agent: { event_loop_delay_ms: snapshot.agent.eventLoopDelayMs, rss_bytes: snapshot.agent.rssBytes, reported_at: toRfc3339(snapshot.agent.at) } }
        : {}),
    },
    uuid: health.uuid,
    created: toRfc3339(instance.createdAt),
    modified: toRfc3339(instance.modifiedAt),
    last_seen: orNull(snapshot.lastSeen),
    health_check_started: orNull(instance.healthCheckStarted),
    health_check_pending: instance.healthCheckPending,
    last_health_check: health.last_health_check,
    errors: health.errors,
    capacity_adjustment: instance.capacityAdjustment,
    version: health.version,
    capacity: health.capacity,
    consumed_capacity: jobsRunning,
    percent_capacity_remaining: remaining,
    jobs_running: jobsRunning,
    jobs_total: instance.facts.jobsTotal ?? 0,
    cpu: health.cpu,
    memory: health.memory,
    cpu_capacity: health.cpu_capacity,
    mem_capacity: health.mem_capacity,
    enabled: instance.enabled,
    managed_by_policy: instance.managedByPolicy,
    node_type: instance.nodeType as Instance['node_type'],
    node_state: deriveNodeState(snapshot),
    ip_address: health.ip_address,
    listener_port: instance.listenerPort,
    peers: instance.peers,
    peers_from_control_nodes: instance.peersFromControlNodes,
    maintenance_until: orNull(instance.maintenanceUntil),
    maintenance_reason: instance.maintenanceReason,
    maintenance: inMaintenance(instance, now),
    labels: instance.labels,
  };
}
