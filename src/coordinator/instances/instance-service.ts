import { randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import { ApiError } from '../../shared/errors.ts';
import type { FleetCounts } from '../fleet/fleet-counts.ts';
import { pageLinks, pageStart } from '../http/awx-page.ts';
import { DEFAULT_CLUSTER } from '../node-service.ts';
import type { AgentReports } from '../state/agent-reports.ts';
import type { HeartbeatFreshness } from '../state/heartbeat-freshness.ts';
import type { InstanceFields, InstanceFilter, InstanceRecord, InstanceWriteResult, Store } from '../store/store.ts';
import type { HealthCheckTracker } from './health-check-tracker.ts';
import { type CreateInstanceBody, type HealthView, type Instance, type InstanceListQuery, type InstancePage, type PatchInstanceBody, parseQueryBoolean } from './instance-schemas.ts';
import { type InstanceSnapshot, deriveNodeState, normalizeAdjustment, toHealthView, toInstanceView } from './instance-view.ts';
import { admitNodeState, invalidField } from './node-state-writes.ts';
import { loadSnapshots } from './snapshot-loader.ts';

export const INSTANCES_PATH = '/api/v2/instances/';

export interface InstanceServiceDeps {
  store: Store;
  clock: Clock;
  heartbeats: HeartbeatFreshness;
  agentReports: AgentReports;
  healthChecks: HealthCheckTracker;
  /** The fleet's counts: told of every instance written or deleted; they count the list's matches. */
  fleet: Pick<FleetCounts, 'instanceWritten' | 'instanceDeleted' | 'countInstances'>;
}

type Writable = Omit<PatchInstanceBody, 'hostname'> & { hostname?: string | undefined };

/** The admin-writable fields of a request body in the store's terms; read-only fields are dropped. */
function fieldsOf(body: Writable): Partial<InstanceFields> {
  const fields: Partial<InstanceFields> = {};
  if (body.hostname !== undefined) fields.hostname = body.hostname;
  if (body.capacity_adjustment !== undefined) {
    const adjustment = normalizeAdjustment(body.capacity_adjustment);
    if (adjustment === undefined) throw invalidField('capacity_adjustment', 'must be a decimal from 0 to 1 with at most two places');
    fields.capacityAdjustment = adjustment;
  }
  if (body.enabled !== undefined) fields.enabled = body.enabled;
  if (body.managed_by_policy !== undefined) fields.managedByPolicy = body.managed_by_policy;
  if (body.node_type !== undefined) fields.nodeType = body.node_type;
  if (body.node_state !== undefined) fields.nodeState = body.node_state;
  if (body.listener_port !== undefined) fields.listenerPort = body.listener_port;
  if (body.peers !== undefined) fields.peers = body.peers ?? [];
  if (body.peers_from_control_nodes !== undefined) fields.peersFromControlNodes = body.peers_from_control_nodes;
  return fields;
}

/** The maintenance fields a body sets (undefined: it sets none); a time that is not RFC 3339 is refused. */
function maintenanceOf(body: Writable): { until?: number | null; reason?: string } | undefined {
  if (body.maintenance_until === undefined && body.maintenance_reason === undefined) return undefined;
  const window: { until?: number | null; reason?: string } = {};
  if (body.maintenance_until !== undefined) {
    const until = body.maintenance_until === null ? null : Date.parse(body.maintenance_until);
    if (until !== null && !Number.isFinite(until)) throw invalidField('maintenance_until', 'must be an RFC 3339 time or null');
    window.until = until;
  }
  if (body.maintenance_reason !== undefined) window.reason = body.maintenance_reason;
  return window;
}

/** Seeds 002/003: the AWX instance API over the store. */
export class InstanceService {
  constructor(private readonly deps: InstanceServiceDeps) {}

  private async view(instance: InstanceRecord): Promise<Instance> {
    const [snapshot] = await loadSnapshots(this.deps.store, this.deps.heartbeats, [instance], this.deps.agentReports);
    return toInstanceView(snapshot!, this.deps.clock.now());
  }

  private async find(id: number): Promise<InstanceRecord> {
    const instance = await this.deps.store.getInstance(id);
    if (!instance) throw new ApiError('InstanceNotFound', undefined, { id });
    return instance;
  }

  private written(result: InstanceWriteResult, id: number | undefined, hostname: string | undefined): InstanceRecord {
    if (result.outcome === 'hostname-taken') throw new ApiError('HostnameTaken', undefined, { hostname });
    if (result.outcome === 'not-found') throw new ApiError('InstanceNotFound', undefined, { id });
    this.deps.fleet.instanceWritten(result.instance);
    return result.instance;
  }

  async list(query: InstanceListQuery): Promise<InstancePage> {
    const { store } = this.deps;
    let clusterIds: number[] | undefined;
    if (query.cluster !== undefined) {
      const cluster = await store.findClusterByName(query.cluster);
      clusterIds = cluster ? [cluster.id] : [];
    }
    const enabled = query.enabled === undefined ? undefined : parseQueryBoolean(query.enabled);
    const filter = { clusterIds, hostname: query.hostname, enabled };
    const start = pageStart(query);
    const now = this.deps.clock.now();
    const { count, page } =
      query.node_state === undefined
        ? await this.storePage(filter, start, query.page_size)
        : await this.derivedPage(filter, query.node_state, start, query.page_size);
    return {
      count,
      ...pageLinks(INSTANCES_PATH, query, count),
      results: page.map((snapshot) => toInstanceView(snapshot, now)),
    };
  }

  /**
   * Filters the store can apply: it reads one page, so a 100k fleet is never loaded for 25 rows;
   * the fleet counts say how many match (the store, filtered by hostname: one per cluster at most).
   */
  private async storePage(filter: InstanceFilter, offset: number, limit: number): Promise<{ count: number; page: InstanceSnapshot[] }> {
    const { store, heartbeats, agentReports } = this.deps;
    const count = this.deps.fleet.countInstances(filter) ?? (await store.countInstances(filter));
    const page = offset < count ? await loadSnapshots(store, heartbeats, await store.listInstances(filter, { offset, limit }), agentReports) : [];
    return { count, page };
  }

  /** node_state is derived from the nodes and checks: every matching instance is judged, then paged. */
  private async derivedPage(filter: InstanceFilter, nodeState: string, offset: number, limit: number): Promise<{ count: number; page: InstanceSnapshot[] }> {
    const { store, heartbeats, agentReports } = this.deps;
    const snapshots = (await loadSnapshots(store, heartbeats, await store.listInstances(filter), agentReports)).filter(
      (snapshot) => deriveNodeState(snapshot) === nodeState,
    );
    return { count: snapshots.length, page: snapshots.slice(offset, offset + limit) };
  }

  async get(id: number): Promise<Instance> {
    return this.view(await this.find(id));
  }

  async create(body: CreateInstanceBody): Promise<Instance> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const fields = fieldsOf(body);
    if (body.node_state !== undefined) admitNodeState(body.node_state, undefined);
    const cluster = await store.ensureCluster(body.cluster ?? DEFAULT_CLUSTER, now);
    const result = await store.createInstance({
      clusterId: cluster.id,
      uuid: randomUUID(),
      now,
      hostname: body.hostname,
      capacityAdjustment: fields.capacityAdjustment ?? '1.00',
      enabled: fields.enabled ?? true,
      managedByPolicy: fields.managedByPolicy ?? true,
      nodeType: fields.nodeType ?? 'execution',
      nodeState: fields.nodeState ?? 'installed',
      listenerPort: fields.listenerPort ?? null,
      peers: fields.peers ?? [],
      peersFromControlNodes: fields.peersFromControlNodes ?? false,
    });
    const created = this.written(result, undefined, body.hostname);
    return this.view(await this.maintenanceWritten(created.id, body) ?? created);
  }

  async update(id: number, body: PatchInstanceBody): Promise<Instance> {
    const fields = fieldsOf(body);
    if (body.node_state !== undefined) {
      const [snapshot] = await loadSnapshots(this.deps.store, this.deps.heartbeats, [await this.find(id)], this.deps.agentReports);
      const current = { registered: snapshot!.latestNode !== undefined, shown: deriveNodeState(snapshot!) };
      if (!admitNodeState(body.node_state, current)) delete fields.nodeState;
    }
    const result = await this.deps.store.updateInstance(id, fields, this.deps.clock.now());
    const updated = this.written(result, id, body.hostname);
    return this.view((await this.maintenanceWritten(id, body)) ?? updated);
  }

  /**
   * The maintenance window of a create or PATCH body, when it names one: written in its own
   * transaction with its transition (maintenance-changed), after the other fields.
   */
  private async maintenanceWritten(id: number, body: Writable): Promise<InstanceRecord | undefined> {
    const window = maintenanceOf(body);
    if (!window) return undefined;
    const current = window.until === undefined || window.reason === undefined ? await this.find(id) : undefined;
    const result = await this.deps.store.setMaintenance(
      id,
      { until: window.until === undefined ? current!.maintenanceUntil : window.until, reason: window.reason ?? current!.maintenanceReason },
      this.deps.clock.now(),
    );
    return this.written(result, id, undefined);
  }

  async remove(id: number): Promise<void> {
    const result = await this.deps.store.deleteInstance(id);
    if (result === 'not-found') throw new ApiError('InstanceNotFound', undefined, { id });
    if (result === 'active-node') throw new ApiError('InstanceHasActiveNode', 'The instance has an Active node; stop its agent (or wait for its timeout) first', { id });
    this.deps.fleet.instanceDeleted(id);
    this.deps.agentReports.forget(id);
  }

  /** AWX's answers: "running" when this request started a check, "already in progress" otherwise. */
  async requestHealthCheck(id: number): Promise<{ msg: string }> {
    const instance = await this.find(id);
    const result = await this.deps.healthChecks.request(id);
    if (result === 'not-found') throw new ApiError('InstanceNotFound', undefined, { id });
    return {
      msg: result === 'started' ? `Health check is running for ${instance.hostname}.` : `Health check already in progress for ${instance.hostname}.`,
    };
  }

  async healthView(id: number): Promise<HealthView> {
    const [snapshot] = await loadSnapshots(this.deps.store, this.deps.heartbeats, [await this.find(id)], this.deps.agentReports);
    return toHealthView(snapshot!);
  }
}
