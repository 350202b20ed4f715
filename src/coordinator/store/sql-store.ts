import { type Selectable, type Transaction, sql } from 'kysely';
import type { CheckStatus as HealthStatus, TerminationReason } from '../../shared/protocol.ts';
import { chunks } from './chunks.ts';
import type { EngineTraits } from './engine.ts';
import type { NewTransition, TerminationEvidence } from './transitions.ts';
import type { InstanceSummaryRow, InstanceTally } from './instance-tally.ts';
import { MIGRATIONS, migrationSql } from './migrations.ts';
import { clusterFromRow, errorsFromHealth, instanceFromRow, nodeFromRow, tokenFromRow } from './rows.ts';
import { prepare } from './prepared-query.ts';
import { ACTIVE, type Db, type NodesTable, type StoreTables, TIMED_OUT, type TokensTable } from './schema.ts';
import * as history from './sql-history.ts';
import * as maintenance from './sql-maintenance.ts';
import * as operator from './sql-operator.ts';
import { SqlWebhookOutbox } from './sql-outbox.ts';
import type { WebhookOutbox } from './outbox.ts';
import { registerInTransaction } from './sql-register.ts';
import type {
  ActiveNodeKey,
  ClusterRecord,
  DeleteInstanceResult,
  ExpiredNode,
  HealthCheckRequestResult,
  HeartbeatWrite,
  InstanceFields,
  InstanceFilter,
  InstancePage,
  InstanceRecord,
  InstanceReport,
  InstanceWriteResult,
  MaintenanceEntry,
  MaintenanceSilence,
  MaintenanceWindow,
  MonitorEventRecord,
  NewInstance,
  NodeRecord,
  PendingHealthCheck,
  RegisterNodeInput,
  RegisterNodeResult,
  SilenceCounts,
  Store,
  TerminationContext,
  TokenRecord,
  TransitionRecord,
} from './store.ts';

/**
 * PostgreSQL's answers to a transaction that lost a race with another replica: a deadlock, a
 * serialization failure, or a unique key another transaction took first (two replicas creating
 * the same instance). SQLite serializes writers and never raises them.
 */
const LOST_RACE: ReadonlySet<string> = new Set(['40001', '40P01', '23505']);
/** A single statement can only lose on lock order (a deadlock) or serialization. */
export const LOST_LOCK_ORDER: ReadonlySet<string> = new Set(['40001', '40P01']);
const ATTEMPTS = 3;

// The queries of the heartbeat, sweep and authentication paths, compiled once (prepared-query.ts).
const tokenByHash = prepare<{ hash: string }, Selectable<TokensTable>>((db, _engine, p) =>
  db.selectFrom('tokens').selectAll().where('hash', '=', p('hash')).where('revoked_at', 'is', null),
);
const nodeById = prepare<{ nodeId: string }, Selectable<NodesTable>>((db, _engine, p) => db.selectFrom('nodes').selectAll().where('id', '=', p('nodeId')));
const activeNodesAfter = prepare<{ afterId: string; limit: number }, ActiveNodeKey>((db, _engine, p) =>
  db
    .selectFrom('nodes')
    .select(['id as nodeId', 'cluster_id as clusterId', 'instance_id as instanceId', 'token_hash as tokenHash'])
    .where('id', '>', p('afterId'))
    .where('status', '=', ACTIVE)
    .orderBy('id')
    .limit(p('limit')),
);
const terminateActive = prepare<{ nodeId: string; reason: TerminationReason; now: number }, TerminatedRow>((db, _engine, p) =>
  db
    .updateTable('nodes')
    .set({ status: 'Terminated', terminated_at: p('now'), termination_reason: p('reason') })
    .where('id', '=', p('nodeId'))
    .where('status', '=', ACTIVE)
    .returning(TERMINATED_ROW),
);
/** What a termination returns for its entry in the transitions log. */
const TERMINATED_ROW = ['id', 'cluster_id', 'instance_id', 'last_heartbeat'] as const;
type TerminatedRow = Pick<Selectable<NodesTable>, (typeof TERMINATED_ROW)[number]>;
const expired = (db: Db, cutoff: number) =>
  db
    .selectFrom('nodes')
    .select(['id as nodeId', 'cluster_id as clusterId', 'last_heartbeat as lastHeartbeat'])
    .where('status', '=', ACTIVE)
    .where('last_heartbeat', '<', cutoff)
    .orderBy('last_heartbeat');
const expiredNodes = prepare<{ cutoff: number; limit: number }, ExpiredNode>((db, _engine, p) => expired(db, p('cutoff')).limit(p('limit')));
const expiredNodesOfCluster = prepare<{ cutoff: number; limit: number; clusterId: number }, ExpiredNode>((db, _engine, p) =>
  expired(db, p('cutoff')).where('cluster_id', '=', p('clusterId')).limit(p('limit')),
);
/**
 * Per cluster with an expired node: its Active nodes silent since before the overdue cutoff,
 * and how many of them since before the expiry cutoff. An aggregate, never a page, over a range
 * of the deadline index, so it costs what is silent, not the fleet: the ordered subquery keeps
 * SQLite's planner on that range (grouping straight from the table, it walked every Active node
 * through the by-cluster index: ~70 ms at 200,000 nodes however few were silent).
 */
type SilenceRow = { clusterId: number; overdue: number; expired: number };
const silenceQuery = (db: Db, overdueBefore: unknown, expiredBefore: unknown, clusterId?: unknown) =>
  db
    .selectFrom(
      db
        .selectFrom('nodes')
        .select(['cluster_id', 'last_heartbeat'])
        .where('status', '=', ACTIVE)
        .where('last_heartbeat', '<', overdueBefore as number)
        .$if(clusterId !== undefined, (query) => query.where('cluster_id', '=', clusterId as number))
        .orderBy('last_heartbeat')
        .as('silent'),
    )
    .select((eb) => [
      'cluster_id as clusterId',
      eb.fn.countAll<number>().as('overdue'),
      eb.fn.sum<number>(eb.case().when('last_heartbeat', '<', expiredBefore as number).then(1).else(0).end()).as('expired'),
    ])
    .groupBy('cluster_id')
    .having((eb) => eb.fn.min('last_heartbeat'), '<', expiredBefore as number);
const silenceByCluster = prepare<{ expiredBefore: number; overdueBefore: number }, SilenceRow>((db, _engine, p) =>
  silenceQuery(db, p('overdueBefore'), p('expiredBefore')),
);
/** The same counts for one cluster, with that cluster's own cutoffs (its timeout may differ from the shortest). */
const silenceOfCluster = prepare<{ expiredBefore: number; overdueBefore: number; clusterId: number }, SilenceRow>((db, _engine, p) =>
  silenceQuery(db, p('overdueBefore'), p('expiredBefore'), p('clusterId')),
);
/** A cluster's nodes timed out at or after the start of its window (index nodes_timed_out_by_cluster, migration 7). */
const timedOutSince = prepare<{ clusterId: number; since: number }, { timedOut: number }>((db, _engine, p) =>
  db
    .selectFrom('nodes')
    .select((eb) => eb.fn.countAll<number>().as('timedOut'))
    .where('cluster_id', '=', p('clusterId'))
    .where('termination_reason', '=', TIMED_OUT)
    .where('terminated_at', '>=', p('since'))
    // An expected silence (maintenance) is no sign of the cluster's network.
    .where('timed_out_in_maintenance', '=', 0),
);
/** The next deadline's heartbeat: the first entry of the deadline index (nodes_active_by_deadline). */
const oldestActiveHeartbeat = prepare<Record<string, never>, { oldest: number | null }>((db) =>
  db
    .selectFrom('nodes')
    .select((eb) => eb.fn.min('last_heartbeat').as('oldest'))
    .where('status', '=', ACTIVE),
);

/**
 * The store, every query written once over Kysely. Each engine's subclass supplies the few
 * things that differ (EngineTraits, the batched heartbeat write, the migration lock and script
 * runner). Every change of hard state is one conditional statement or one transaction, so
 * replicas never read-then-write across each other: a Terminated node stays Terminated, and a
 * node ends with exactly one reason.
 */
export abstract class SqlStore implements Store {
  abstract readonly kind: 'sqlite' | 'postgres';

  readonly webhookOutbox: WebhookOutbox;

  protected constructor(
    protected readonly kysely: Db,
    protected readonly engine: EngineTraits,
  ) {
    this.webhookOutbox = new SqlWebhookOutbox(kysely);
  }

  /** One batch; returns the node ids that are no longer Active (their heartbeats were dropped). */
  abstract writeHeartbeats(batch: readonly HeartbeatWrite[]): Promise<string[]>;
  /** Makes concurrent migrations of several processes wait for each other, inside the migration transaction. */
  protected abstract lockMigrations(trx: Transaction<StoreTables>): Promise<void>;
  /** Runs one migration's script (several statements) inside the migration transaction. */
  protected abstract runScript(trx: Transaction<StoreTables>, script: string): Promise<void>;

  /** Runs `work` in one transaction, again (up to ATTEMPTS times) when it lost a race with another replica. */
  protected transaction<T>(work: (trx: Transaction<StoreTables>) => Promise<T>, retryOn = LOST_RACE): Promise<T> {
    return this.retrying(() => this.kysely.transaction().execute(work), retryOn);
  }

  /** Runs `work` again (up to ATTEMPTS times) when it failed with one of these error codes. */
  protected async retrying<T>(work: () => Promise<T>, retryOn: ReadonlySet<string>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (attempt >= ATTEMPTS || code === undefined || !retryOn.has(code)) throw error;
      }
    }
  }

  async migrate(): Promise<void> {
    await this.transaction(async (trx) => {
      await this.lockMigrations(trx);
      await trx.schema
        .createTable('schema_migrations')
        .ifNotExists()
        .addColumn('version', 'integer', (column) => column.primaryKey())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('applied_at', 'bigint', (column) => column.notNull())
        .execute();
      const applied = new Set((await trx.selectFrom('schema_migrations').select('version').execute()).map((row) => Number(row.version)));
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await this.runScript(trx, migrationSql(migration, this.engine.kind));
        await trx.insertInto('schema_migrations').values({ version: migration.version, name: migration.name, applied_at: Date.now() }).execute();
      }
    });
  }

  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.kysely);
  }

  async close(): Promise<void> {
    await this.kysely.destroy();
  }

  async ensureCluster(name: string, now: number): Promise<ClusterRecord> {
    await this.kysely.insertInto('clusters').values({ name, created_at: now }).onConflict((conflict) => conflict.column('name').doNothing()).execute();
    return clusterFromRow(await this.kysely.selectFrom('clusters').selectAll().where('name', '=', name).executeTakeFirstOrThrow());
  }

  async findClusterByName(name: string): Promise<ClusterRecord | undefined> {
    const row = await this.kysely.selectFrom('clusters').selectAll().where('name', '=', name).executeTakeFirst();
    return row && clusterFromRow(row);
  }

  async findClusterById(id: number): Promise<ClusterRecord | undefined> {
    const row = await this.kysely.selectFrom('clusters').selectAll().where('id', '=', id).executeTakeFirst();
    return row && clusterFromRow(row);
  }

  async insertToken(token: TokenRecord): Promise<void> {
    await this.kysely
      .insertInto('tokens')
      .values({
        id: token.id,
        role: token.role,
        cluster_id: token.clusterId,
        hash: token.hash,
        label: token.label,
        created_at: token.createdAt,
        revoked_at: token.revokedAt,
      })
      .execute();
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const [row] = (await tokenByHash.run(this.kysely, this.engine, { hash })).rows;
    return row && tokenFromRow(row);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.kysely.selectFrom('tokens').selectAll().orderBy('created_at').orderBy('id').execute()).map(tokenFromRow);
  }

  async revokeToken(id: string, now: number): Promise<boolean> {
    const result = await this.kysely.updateTable('tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  registerNode(input: RegisterNodeInput): Promise<RegisterNodeResult> {
    return this.transaction((trx) => registerInTransaction(trx, this.engine, input));
  }

  async getNode(nodeId: string): Promise<NodeRecord | undefined> {
    const [row] = (await nodeById.run(this.kysely, this.engine, { nodeId })).rows;
    return row && nodeFromRow(row);
  }

  async activeNodes(afterId: string, limit: number): Promise<ActiveNodeKey[]> {
    return (await activeNodesAfter.run(this.kysely, this.engine, { afterId, limit })).rows;
  }

  async listNodes(clusterId: number, includeTerminated: boolean): Promise<NodeRecord[]> {
    const rows = await this.kysely
      .selectFrom('nodes')
      .selectAll()
      .where('cluster_id', '=', clusterId)
      .$if(!includeTerminated, (query) => query.where('status', '=', ACTIVE))
      .orderBy('joined_at')
      .orderBy('id')
      .execute();
    return rows.map(nodeFromRow);
  }

  async terminateNode(nodeId: string, reason: TerminationReason, now: number, context: TerminationContext = {}): Promise<boolean> {
    return this.transaction(async (trx) => {
      const { rows } = await terminateActive.run(trx, this.engine, { nodeId, reason, now });
      await history.appendTransitions(trx, this.engine, rows.map((row) => terminationTransition(row, reason, now, { decidedBy: context.decidedBy })));
      return rows.length === 1;
    }, LOST_LOCK_ORDER);
  }

  async findExpiredNodes(cutoff: number, limit: number, clusterId?: number): Promise<ExpiredNode[]> {
    if (clusterId === undefined) return (await expiredNodes.run(this.kysely, this.engine, { cutoff, limit })).rows;
    return (await expiredNodesOfCluster.run(this.kysely, this.engine, { cutoff, limit, clusterId })).rows;
  }

  async silenceByCluster(expiredBefore: number, overdueBefore: number, clusterId?: number): Promise<SilenceCounts[]> {
    const { rows } =
      clusterId === undefined
        ? await silenceByCluster.run(this.kysely, this.engine, { expiredBefore, overdueBefore })
        : await silenceOfCluster.run(this.kysely, this.engine, { expiredBefore, overdueBefore, clusterId });
    return rows.map((row) => ({ clusterId: Number(row.clusterId), overdue: Number(row.overdue), expired: Number(row.expired) }));
  }

  async countTimedOut(windowStarts: ReadonlyMap<number, number>): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const [clusterId, since] of windowStarts) {
      const [row] = (await timedOutSince.run(this.kysely, this.engine, { clusterId, since })).rows;
      counts.set(clusterId, Number(row?.timedOut ?? 0));
    }
    return counts;
  }

  async oldestActiveHeartbeat(): Promise<number | null> {
    const [row] = (await oldestActiveHeartbeat.run(this.kysely, this.engine, {})).rows;
    return row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest);
  }

  async countActiveNodes(clusterIds: readonly number[]): Promise<Map<number, number>> {
    const counts = new Map(clusterIds.map((id) => [id, 0]));
    if (clusterIds.length === 0) return counts;
    const rows = await this.kysely
      .selectFrom('nodes')
      .select((eb) => ['cluster_id', eb.fn.countAll<number>().as('count')])
      .where('cluster_id', 'in', [...clusterIds])
      .where('status', '=', ACTIVE)
      .groupBy('cluster_id')
      .execute();
    for (const row of rows) counts.set(Number(row.cluster_id), Number(row.count));
    return counts;
  }

  /**
   * Conditional on still Active and still silent: a heartbeat flushed meanwhile saves the node.
   * Where the engine locks rows they are locked in id order, the order the heartbeat batches
   * lock them in, so a sweep and a flush wait for each other instead of deadlocking.
   */
  async terminateExpired(nodeIds: readonly string[], cutoff: number, now: number, context: TerminationContext = {}): Promise<string[]> {
    if (nodeIds.length === 0) return [];
    const timeoutMs = now - cutoff;
    return this.transaction(async (trx) => {
      const terminated: TerminatedRow[] = [];
      for (const ids of chunks(nodeIds)) {
        const silent = trx
          .selectFrom('nodes')
          .select('id')
          .where('id', 'in', ids)
          .where('status', '=', ACTIVE)
          .where('last_heartbeat', '<', cutoff)
          .orderBy('id')
          .$if(this.engine.locksRows, (query) => query.forUpdate());
        const rows = await trx
          .updateTable('nodes')
          .set({ status: 'Terminated', terminated_at: now, termination_reason: 'HeartbeatTimeout' })
          .where('id', 'in', silent)
          .where('status', '=', ACTIVE)
          .where('last_heartbeat', '<', cutoff)
          .returning(TERMINATED_ROW)
          .execute();
        terminated.push(...rows);
      }
      // A node whose instance is in maintenance went silent as planned: marked, and said so in its evidence.
      const windows = await maintenance.maintenanceWindows(trx, [...new Set(terminated.map((row) => Number(row.instance_id)))], now);
      const expected = terminated.filter((row) => windows.has(Number(row.instance_id))).map((row) => row.id);
      for (const ids of chunks(expected)) await trx.updateTable('nodes').set({ timed_out_in_maintenance: 1 }).where('id', 'in', ids).execute();
      const evidence = (row: TerminatedRow) => ({ ...context, deadline: Number(row.last_heartbeat) + timeoutMs, maintenance: windows.get(Number(row.instance_id)) });
      await history.appendTransitions(trx, this.engine, terminated.map((row) => terminationTransition(row, 'HeartbeatTimeout', now, evidence(row))));
      return terminated.map((row) => row.id);
    }, LOST_LOCK_ORDER);
  }

  recordTransitions(transitions: readonly NewTransition[]): Promise<void> {
    return this.transaction((trx) => history.appendTransitions(trx, this.engine, transitions));
  }
  instanceHistory(instanceId: number, offset: number, limit: number): Promise<TransitionRecord[]> {
    return history.instanceHistory(this.kysely, instanceId, offset, limit);
  }
  countInstanceHistory(instanceId: number): Promise<number> {
    return history.countInstanceHistory(this.kysely, instanceId);
  }
  transitionsAfter(afterId: number, limit: number): Promise<TransitionRecord[]> {
    return history.transitionsAfter(this.kysely, afterId, limit);
  }
  transitionIdRange(): Promise<{ oldest: number; newest: number } | null> {
    return history.transitionIdRange(this.kysely);
  }
  pruneTransitions(olderThan: number, limit: number): Promise<number> {
    return history.pruneTransitions(this.kysely, olderThan, limit);
  }
  pruneTerminatedNodes(olderThan: number, limit: number): Promise<number> {
    return history.pruneTerminatedNodes(this.kysely, olderThan, limit);
  }

  async getInstance(id: number): Promise<InstanceRecord | undefined> {
    const row = await this.kysely.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
    return row && instanceFromRow(row);
  }

  /**
   * Facts, labels and health change together or not at all: one statement, and with a health
   * report one transaction that also logs a change of the instance's health status.
   */
  async recordInstanceReport(instanceId: number, report: InstanceReport): Promise<void> {
    const { facts, labels, health } = report;
    if (!facts && !labels && !health) return;
    const update = (db: Db) =>
      db
        .updateTable('instances')
        .set({
          ...(facts ? { facts: JSON.stringify(facts) } : {}),
          ...(labels ? { labels: JSON.stringify(labels) } : {}),
          ...(health
            ? { health_status: health.status, errors: errorsFromHealth(health), last_health_check: report.now, health_check_pending: 0 }
            : {}),
          modified_at: report.now,
        })
        .where('id', '=', instanceId)
        .execute();
    if (!health) {
      await update(this.kysely);
      return;
    }
    await this.transaction(async (trx) => {
      const before = await trx
        .selectFrom('instances')
        .select(['cluster_id', 'health_status'])
        .where('id', '=', instanceId)
        .$if(this.engine.locksRows, (query) => query.forUpdate())
        .executeTakeFirst();
      await update(trx);
      if (!before || before.health_status === health.status) return;
      const failing = health.checks.filter((check) => check.status !== 'passing').map((check) => check.name);
      await history.appendTransitions(trx, this.engine, [
        {
          kind: 'health-changed',
          recordedAt: report.now,
          clusterId: Number(before.cluster_id),
          instanceId,
          nodeId: null,
          reason: health.status,
          evidence: { previous: (before.health_status ?? null) as HealthStatus | null, failing },
        },
      ]);
    }, LOST_LOCK_ORDER);
  }

  async listClusters(afterId: number, limit: number): Promise<ClusterRecord[]> {
    return (await this.kysely.selectFrom('clusters').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute()).map(clusterFromRow);
  }

  async countClusters(): Promise<number> {
    const row = await this.kysely.selectFrom('clusters').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    return Number(row.count);
  }

  updateCluster(id: number, fields: { provider?: string | undefined; regions?: string[] | undefined }): Promise<ClusterRecord | undefined> {
    return operator.updateCluster(this.kysely, id, fields);
  }
  listInstances(filter: InstanceFilter, page?: InstancePage): Promise<InstanceRecord[]> {
    return operator.listInstances(this.kysely, filter, page);
  }
  countInstances(filter: InstanceFilter): Promise<number> {
    return operator.countInstances(this.kysely, filter);
  }
  tallyInstances(clusterIds?: readonly number[]): Promise<InstanceTally[]> {
    return operator.tallyInstances(this.kysely, this.engine, clusterIds);
  }
  instanceSummaries(afterId: number, limit: number): Promise<InstanceSummaryRow[]> {
    return operator.instanceSummaries(this.kysely, this.engine, afterId, limit);
  }
  regionLabels(clusterIds: readonly number[]): Promise<Map<number, string[]>> {
    return operator.regionLabels(this.kysely, this.engine, clusterIds);
  }
  latestNodes(instanceIds: readonly number[]): Promise<NodeRecord[]> {
    return operator.latestNodes(this.kysely, instanceIds);
  }
  createInstance(input: NewInstance): Promise<InstanceWriteResult> {
    return operator.createInstance(this.kysely, this.engine, input);
  }
  updateInstance(id: number, fields: Partial<InstanceFields>, now: number): Promise<InstanceWriteResult> {
    return operator.updateInstance(this.kysely, this.engine, id, fields, now);
  }
  deleteInstance(id: number): Promise<DeleteInstanceResult> {
    return this.transaction((trx) => operator.deleteInstance(trx, this.engine, id));
  }
  setMaintenance(id: number, window: MaintenanceWindow, now: number): Promise<InstanceWriteResult> {
    return this.transaction((trx) => maintenance.setMaintenance(trx, this.engine, id, window, now), LOST_LOCK_ORDER);
  }
  instancesInMaintenance(now: number): Promise<MaintenanceEntry[]> {
    return maintenance.instancesInMaintenance(this.kysely, now);
  }
  recordMaintenanceEnds(after: number, upTo: number): Promise<number> {
    return this.transaction((trx) => maintenance.recordMaintenanceEnds(trx, this.engine, after, upTo), LOST_LOCK_ORDER);
  }
  maintenanceSilence(clusterId: number, now: number, overdueBefore: number): Promise<MaintenanceSilence> {
    return maintenance.maintenanceSilence(this.kysely, clusterId, now, overdueBefore);
  }
  requestHealthCheck(id: number, now: number): Promise<HealthCheckRequestResult> {
    return operator.requestHealthCheck(this.kysely, id, now);
  }
  listPendingHealthChecks(): Promise<PendingHealthCheck[]> {
    return operator.listPendingHealthChecks(this.kysely);
  }
  failHealthChecks(startedBefore: number, errors: string, now: number): Promise<number[]> {
    return operator.failHealthChecks(this.kysely, startedBefore, errors, now);
  }

  /** One row whose counter each request bumps (migration 4). */
  async requestHoldLift(now: number): Promise<void> {
    await this.kysely
      .insertInto('hold_lift_requests')
      .values({ id: 1, sequence: 1, requested_at: now })
      .onConflict((conflict) =>
        conflict.column('id').doUpdateSet((eb) => ({ sequence: eb('hold_lift_requests.sequence', '+', 1), requested_at: eb.ref('excluded.requested_at') })),
      )
      .execute();
  }

  async holdLiftSequence(): Promise<number> {
    const row = await this.kysely.selectFrom('hold_lift_requests').select('sequence').where('id', '=', 1).executeTakeFirst();
    return Number(row?.sequence ?? 0);
  }

  /** Coordinator replicas (migration 5): each replica refreshes its row; the API component counts the recent ones. */
  async touchReplica(id: string, startedAt: number, now: number, forgetBefore: number): Promise<void> {
    await this.kysely
      .insertInto('coordinator_replicas')
      .values({ id, started_at: startedAt, seen_at: now })
      .onConflict((conflict) => conflict.column('id').doUpdateSet((eb) => ({ seen_at: eb.ref('excluded.seen_at') })))
      .execute();
    await this.kysely.deleteFrom('coordinator_replicas').where('seen_at', '<', forgetBefore).execute();
  }

  async countReplicas(seenSince: number): Promise<number> {
    const row = await this.kysely
      .selectFrom('coordinator_replicas')
      .select((eb) => eb.fn.countAll<number>().as('replicas'))
      .where('seen_at', '>=', seenSince)
      .executeTakeFirstOrThrow();
    return Number(row.replicas);
  }

  insertEvent(event: MonitorEventRecord): Promise<void> {
    return operator.insertEvent(this.kysely, event);
  }
  getEvent(id: string): Promise<MonitorEventRecord | undefined> {
    return operator.getEvent(this.kysely, id);
  }
  listEvents(limit: number): Promise<MonitorEventRecord[]> {
    return operator.listEvents(this.kysely, limit);
  }
  pruneEvents(keep: number, olderThan: number): Promise<number> {
    return this.transaction((trx) => operator.pruneEvents(trx, keep, olderThan));
  }
}

/** A node's termination as a row of the transitions log. */
function terminationTransition(row: TerminatedRow, reason: TerminationReason, now: number, evidence: Omit<TerminationEvidence, 'lastHeartbeat'>): NewTransition {
  return {
    recordedAt: now,
    kind: 'node-terminated',
    clusterId: Number(row.cluster_id),
    instanceId: Number(row.instance_id),
    nodeId: row.id,
    reason,
    evidence: { lastHeartbeat: Number(row.last_heartbeat), ...evidence },
  };
}
