import type pg from 'pg';
import type { TerminationReason } from '../../../shared/protocol.ts';
import { HOLD_LIFT_SEQUENCE_SQL, HOLD_LIFT_SQL } from '../hold-lift-sql.ts';
import { OLDEST_ACTIVE_HEARTBEAT_SQL } from '../deadline-sql.ts';
import { COUNT_TIMED_OUT_SQL, EXPIRED_IN_CLUSTER_SQL, SILENCE_BY_CLUSTER_SQL } from '../silence-sql.ts';
import { COUNT_REPLICAS_SQL, FORGET_REPLICAS_SQL, TOUCH_REPLICA_SQL } from '../replica-sql.ts';
import { MIGRATIONS, migrationSql } from '../migrations.ts';
import { clusterFromRow, errorsFromHealth, instanceFromRow, nodeFromRow, tokenFromRow } from '../rows.ts';
import type {
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
  InstanceTally,
  InstanceWriteResult,
  MonitorEventRecord,
  NewInstance,
  NodeRecord,
  PendingHealthCheck,
  RegisterNodeInput,
  RegisterNodeResult,
  SilenceCounts,
  Store,
  TokenRecord,
} from '../store.ts';
import { createPool, inTransaction, queryRetrying } from './pg-pool.ts';
import * as operator from './pg-operator-queries.ts';
import { registerInTransaction } from './pg-register.ts';

type Row = Record<string, unknown>;

/** Every replica migrating at once takes this transaction-scoped advisory lock first. */
const MIGRATION_LOCK = 0x6e70_6d69; // "npmi"

export interface PgStoreOptions {
  poolSize: number;
  onIdleError?: (error: Error) => void;
}

/**
 * The store for several coordinator replicas: PostgreSQL through a `pg` pool. Every change of
 * hard state is one conditional statement or one transaction, so replicas never read-then-write
 * across each other: a Terminated node stays Terminated, and a node ends with exactly one reason.
 */
export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;

  constructor(readonly connectionString: string, options: PgStoreOptions) {
    this.pool = createPool({ connectionString, poolSize: options.poolSize, onIdleError: options.onIdleError });
  }

  private async rows(text: string, values: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(text, values)).rows as Row[];
  }

  async migrate(): Promise<void> {
    await inTransaction(this.pool, async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const applied = new Set((await db.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((row) => row.version));
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await db.query(migrationSql(migration, 'postgres'));
        await db.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
      }
    });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  async ensureCluster(name: string, now: number): Promise<ClusterRecord> {
    await this.pool.query('INSERT INTO clusters (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, now]);
    const [row] = await this.rows('SELECT * FROM clusters WHERE name = $1', [name]);
    return clusterFromRow(row as Row);
  }

  async findClusterByName(name: string): Promise<ClusterRecord | undefined> {
    const [row] = await this.rows('SELECT * FROM clusters WHERE name = $1', [name]);
    return row && clusterFromRow(row);
  }

  async findClusterById(id: number): Promise<ClusterRecord | undefined> {
    const [row] = await this.rows('SELECT * FROM clusters WHERE id = $1', [id]);
    return row && clusterFromRow(row);
  }

  async insertToken(token: TokenRecord): Promise<void> {
    await this.pool.query('INSERT INTO tokens (id, role, cluster_id, hash, label, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      token.id,
      token.role,
      token.clusterId,
      token.hash,
      token.label,
      token.createdAt,
      token.revokedAt,
    ]);
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const [row] = await this.rows('SELECT * FROM tokens WHERE hash = $1 AND revoked_at IS NULL', [hash]);
    return row && tokenFromRow(row);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.rows('SELECT * FROM tokens ORDER BY created_at, id')).map(tokenFromRow);
  }

  async revokeToken(id: string, now: number): Promise<boolean> {
    return (await this.pool.query('UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [now, id])).rowCount === 1;
  }

  async registerNode(input: RegisterNodeInput): Promise<RegisterNodeResult> {
    return inTransaction(this.pool, (db) => registerInTransaction(db, input));
  }

  async getNode(nodeId: string): Promise<NodeRecord | undefined> {
    const [row] = await this.rows('SELECT * FROM nodes WHERE id = $1', [nodeId]);
    return row && nodeFromRow(row);
  }

  async listNodes(clusterId: number, includeTerminated: boolean): Promise<NodeRecord[]> {
    const sql = includeTerminated
      ? 'SELECT * FROM nodes WHERE cluster_id = $1 ORDER BY joined_at, id'
      : "SELECT * FROM nodes WHERE cluster_id = $1 AND status = 'Active' ORDER BY joined_at, id";
    return (await this.rows(sql, [clusterId])).map(nodeFromRow);
  }

  async terminateNode(nodeId: string, reason: TerminationReason, now: number): Promise<boolean> {
    const result = await this.pool.query(
      "UPDATE nodes SET status = 'Terminated', terminated_at = $1, termination_reason = $2 WHERE id = $3 AND status = 'Active'",
      [now, reason, nodeId],
    );
    return result.rowCount === 1;
  }

  /**
   * One statement per batch. The rows are locked in id order first, so two replicas flushing
   * overlapping batches wait for each other instead of deadlocking; GREATEST keeps the newest
   * timestamp any replica wrote, and a Terminated node is never touched.
   */
  async writeHeartbeats(batch: readonly HeartbeatWrite[]): Promise<string[]> {
    if (batch.length === 0) return [];
    const ids = batch.map((write) => write.nodeId);
    const { rows } = await queryRetrying<{ id: string }>(
      this.pool,
      `WITH batch AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS b(id, at)),
            locked AS (SELECT n.id FROM nodes n JOIN batch ON batch.id = n.id WHERE n.status = 'Active' ORDER BY n.id FOR UPDATE OF n)
       UPDATE nodes SET last_heartbeat = GREATEST(nodes.last_heartbeat, batch.at)
       FROM batch JOIN locked ON locked.id = batch.id
       WHERE nodes.id = batch.id AND nodes.status = 'Active'
       RETURNING nodes.id`,
      [ids, batch.map((write) => write.at)],
    );
    const written = new Set(rows.map((row) => row.id));
    return ids.filter((id) => !written.has(id));
  }

  async findExpiredNodes(cutoff: number, limit: number, clusterId?: number): Promise<ExpiredNode[]> {
    if (clusterId !== undefined) return (await this.pool.query<ExpiredNode>(EXPIRED_IN_CLUSTER_SQL.postgres, [cutoff, clusterId, limit])).rows;
    return (await this.pool.query<ExpiredNode>(
      `SELECT id AS "nodeId", cluster_id AS "clusterId", last_heartbeat AS "lastHeartbeat" FROM nodes
       WHERE status = 'Active' AND last_heartbeat < $1 ORDER BY last_heartbeat LIMIT $2`,
      [cutoff, limit],
    )).rows;
  }

  async silenceByCluster(expiredBefore: number, overdueBefore: number): Promise<SilenceCounts[]> {
    return (await this.pool.query<SilenceCounts>(SILENCE_BY_CLUSTER_SQL.postgres, [expiredBefore, overdueBefore, expiredBefore])).rows;
  }

  async countTimedOut(windowStarts: ReadonlyMap<number, number>): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const [clusterId, since] of windowStarts) {
      const { rows } = await this.pool.query<{ timedOut: number }>(COUNT_TIMED_OUT_SQL.postgres, [clusterId, since]);
      counts.set(clusterId, rows[0]?.timedOut ?? 0);
    }
    return counts;
  }

  async oldestActiveHeartbeat(): Promise<number | null> {
    const value = (await this.rows(OLDEST_ACTIVE_HEARTBEAT_SQL))[0]?.oldest;
    return value === null || value === undefined ? null : Number(value);
  }

  async countActiveNodes(clusterIds: readonly number[]): Promise<Map<number, number>> {
    const { rows } = await this.pool.query<{ cluster_id: number; count: number }>(
      "SELECT cluster_id, count(*) AS count FROM nodes WHERE cluster_id = ANY($1::int[]) AND status = 'Active' GROUP BY cluster_id",
      [clusterIds],
    );
    const counts = new Map(clusterIds.map((id) => [id, 0]));
    for (const row of rows) counts.set(row.cluster_id, row.count);
    return counts;
  }

  /** Conditional on still Active and still silent: a heartbeat flushed meanwhile saves the node. */
  async terminateExpired(nodeIds: readonly string[], cutoff: number, now: number): Promise<string[]> {
    if (nodeIds.length === 0) return [];
    const { rows } = await queryRetrying<{ id: string }>(
      this.pool,
      `UPDATE nodes SET status = 'Terminated', terminated_at = $1, termination_reason = 'HeartbeatTimeout'
       WHERE id IN (SELECT id FROM nodes WHERE id = ANY($2::text[]) AND status = 'Active' AND last_heartbeat < $3 ORDER BY id FOR UPDATE)
         AND status = 'Active' AND last_heartbeat < $3
       RETURNING id`,
      [now, nodeIds, cutoff],
    );
    return rows.map((row) => row.id);
  }

  async getInstance(id: number): Promise<InstanceRecord | undefined> {
    const [row] = await this.rows('SELECT * FROM instances WHERE id = $1', [id]);
    return row && instanceFromRow(row);
  }

  async recordInstanceReport(instanceId: number, report: InstanceReport): Promise<void> {
    const facts = report.facts ? JSON.stringify(report.facts) : null;
    const labels = report.labels ? JSON.stringify(report.labels) : null;
    const health = report.health;
    if (!facts && !labels && !health) return;
    // One statement: facts, labels and health change together or not at all.
    await this.pool.query(
      `UPDATE instances SET
         facts = COALESCE($1, facts),
         labels = COALESCE($2, labels),
         health_status = CASE WHEN $3::boolean THEN $4 ELSE health_status END,
         errors = CASE WHEN $3::boolean THEN $5 ELSE errors END,
         last_health_check = CASE WHEN $3::boolean THEN $6 ELSE last_health_check END,
         health_check_pending = CASE WHEN $3::boolean THEN 0 ELSE health_check_pending END,
         modified_at = $6
       WHERE id = $7`,
      [facts, labels, health !== undefined, health?.status ?? null, health ? errorsFromHealth(health) : '', report.now, instanceId],
    );
  }

  // Operator APIs: the SQL lives in pg-operator-queries.ts.
  listClusters(afterId: number, limit: number): Promise<ClusterRecord[]> {
    return operator.listClusters(this.pool, afterId, limit);
  }
  async countClusters(): Promise<number> {
    return Number((await this.rows('SELECT count(*) AS count FROM clusters'))[0]?.count ?? 0);
  }
  updateCluster(id: number, fields: { provider?: string | undefined; regions?: string[] | undefined }): Promise<ClusterRecord | undefined> {
    return operator.updateCluster(this.pool, id, fields);
  }
  listInstances(filter: InstanceFilter, page?: InstancePage): Promise<InstanceRecord[]> {
    return operator.listInstances(this.pool, filter, page);
  }
  countInstances(filter: InstanceFilter): Promise<number> {
    return operator.countInstances(this.pool, filter);
  }
  async tallyInstances(clusterIds?: readonly number[]): Promise<InstanceTally[]> {
    return operator.tallyInstances(this.pool, clusterIds);
  }
  async regionLabels(clusterIds: readonly number[]): Promise<Map<number, string[]>> {
    return operator.regionLabels(this.pool, clusterIds);
  }
  latestNodes(instanceIds: readonly number[]): Promise<NodeRecord[]> {
    return operator.latestNodes(this.pool, instanceIds);
  }
  createInstance(input: NewInstance): Promise<InstanceWriteResult> {
    return operator.createInstance(this.pool, input);
  }
  updateInstance(id: number, fields: Partial<InstanceFields>, now: number): Promise<InstanceWriteResult> {
    return operator.updateInstance(this.pool, id, fields, now);
  }
  deleteInstance(id: number): Promise<DeleteInstanceResult> {
    return operator.deleteInstance(this.pool, id);
  }
  requestHealthCheck(id: number, now: number): Promise<HealthCheckRequestResult> {
    return operator.requestHealthCheck(this.pool, id, now);
  }
  listPendingHealthChecks(): Promise<PendingHealthCheck[]> {
    return operator.listPendingHealthChecks(this.pool);
  }
  failHealthChecks(startedBefore: number, errors: string, now: number): Promise<number[]> {
    return operator.failHealthChecks(this.pool, startedBefore, errors, now);
  }
  async touchReplica(id: string, startedAt: number, now: number, forgetBefore: number): Promise<void> {
    await this.rows(TOUCH_REPLICA_SQL.postgres, [id, startedAt, now]);
    await this.rows(FORGET_REPLICAS_SQL.postgres, [forgetBefore]);
  }
  async countReplicas(seenSince: number): Promise<number> {
    return Number((await this.rows(COUNT_REPLICAS_SQL.postgres, [seenSince]))[0]?.replicas ?? 0);
  }
  async requestHoldLift(now: number): Promise<void> {
    await this.rows(HOLD_LIFT_SQL.postgres, [now]);
  }
  async holdLiftSequence(): Promise<number> {
    return Number((await this.rows(HOLD_LIFT_SEQUENCE_SQL))[0]?.sequence ?? 0);
  }
  insertEvent(event: MonitorEventRecord): Promise<void> {
    return operator.insertEvent(this.pool, event);
  }
  getEvent(id: string): Promise<MonitorEventRecord | undefined> {
    return operator.getEvent(this.pool, id);
  }
  listEvents(limit: number): Promise<MonitorEventRecord[]> {
    return operator.listEvents(this.pool, limit);
  }
  pruneEvents(keep: number, olderThan: number): Promise<number> {
    return operator.pruneEvents(this.pool, keep, olderThan);
  }
}
