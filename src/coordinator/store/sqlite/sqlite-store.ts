import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { TerminationReason } from '../../../shared/protocol.ts';
import { HOLD_LIFT_SEQUENCE_SQL, HOLD_LIFT_SQL } from '../hold-lift-sql.ts';
import { OLDEST_ACTIVE_HEARTBEAT_SQL } from '../deadline-sql.ts';
import { COUNT_TIMED_OUT_SQL, EXPIRED_IN_CLUSTER_SQL, SILENCE_BY_CLUSTER_SQL } from '../silence-sql.ts';
import { COUNT_REPLICAS_SQL, FORGET_REPLICAS_SQL, TOUCH_REPLICA_SQL } from '../replica-sql.ts';
import { MIGRATIONS, migrationSql } from '../migrations.ts';
import { SUPERSEDED_REASON, chooseInstance, decideActiveNode } from '../plan-registration.ts';
import * as operator from './operator-queries.ts';
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

type Row = Record<string, unknown>;

/** Heartbeat rows per write transaction (see writeHeartbeats). */
const HEARTBEAT_SLICE = 1000;

/**
 * The embedded default store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so a
 * method's work happens in one turn of the event loop and no request interleaves with it.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a process crash (kill -9); only an OS crash may lose the last ones.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  /** A prepared statement per SQL text, prepared once: preparing cost more than running on the registration path. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const applied = new Set(this.sql('SELECT version FROM schema_migrations').pluck().all() as number[]);
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      this.db.transaction(() => {
        this.db.exec(migrationSql(migration, 'sqlite'));
        this.sql('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
      })();
    }
  }

  async ping(): Promise<void> {
    this.sql('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async ensureCluster(name: string, now: number): Promise<ClusterRecord> {
    this.sql('INSERT INTO clusters (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(name, now);
    return clusterFromRow(this.sql('SELECT * FROM clusters WHERE name = ?').get(name) as Row);
  }

  async findClusterByName(name: string): Promise<ClusterRecord | undefined> {
    const row = this.sql('SELECT * FROM clusters WHERE name = ?').get(name) as Row | undefined;
    return row && clusterFromRow(row);
  }

  async findClusterById(id: number): Promise<ClusterRecord | undefined> {
    const row = this.sql('SELECT * FROM clusters WHERE id = ?').get(id) as Row | undefined;
    return row && clusterFromRow(row);
  }

  async insertToken(token: TokenRecord): Promise<void> {
    this.sql('INSERT INTO tokens (id, role, cluster_id, hash, label, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(token.id, token.role, token.clusterId, token.hash, token.label, token.createdAt, token.revokedAt);
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const row = this.sql('SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL').get(hash) as Row | undefined;
    return row && tokenFromRow(row);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (this.sql('SELECT * FROM tokens ORDER BY created_at, id').all() as Row[]).map(tokenFromRow);
  }

  async revokeToken(id: string, now: number): Promise<boolean> {
    return this.sql('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now, id).changes === 1;
  }

  async registerNode(input: RegisterNodeInput): Promise<RegisterNodeResult> {
    return this.db.transaction((): RegisterNodeResult => {
      const find = (column: 'uuid' | 'hostname', value: string | undefined) =>
        value === undefined
          ? undefined
          : (this.sql(`SELECT id, uuid, hostname FROM instances WHERE cluster_id = ? AND ${column} = ?`).get(input.clusterId, value) as
              | { id: number; uuid: string | null; hostname: string }
              | undefined);
      const instance = chooseInstance(find('uuid', input.identity), find('hostname', input.hostname));
      if (instance && instance.hostname !== input.hostname) {
        const clash = find('hostname', input.hostname);
        if (clash && clash.id !== instance.id) return { outcome: 'hostname-taken', hostname: input.hostname };
      }
      const active = instance
        ? (this.sql("SELECT id AS nodeId, boot_id AS bootId, last_heartbeat AS lastHeartbeat FROM nodes WHERE instance_id = ? AND status = 'Active'").get(instance.id) as
            | { nodeId: string; bootId: string | null; lastHeartbeat: number }
            | undefined)
        : undefined;
      const decision = decideActiveNode(instance, active, input);
      if (decision.action === 'refuse') return decision.refusal;
      if (decision.action === 'supersede') this.terminate(decision.nodeId, SUPERSEDED_REASON, input.now);

      const facts = JSON.stringify(input.facts ?? {});
      const labels = JSON.stringify(input.labels ?? {});
      let instanceId: number;
      if (instance) {
        instanceId = instance.id;
        this.sql(
            `UPDATE instances SET hostname = ?, uuid = COALESCE(?, uuid), facts = CASE WHEN ? = '{}' THEN facts ELSE ? END,
               labels = ?, modified_at = ? WHERE id = ?`,
          )
          .run(input.hostname, input.identity ?? null, facts, facts, labels, input.now, instanceId);
      } else {
        instanceId = Number(
          this.sql('INSERT INTO instances (cluster_id, hostname, uuid, created_at, modified_at, facts, labels) VALUES (?, ?, ?, ?, ?, ?, ?)')
            .run(input.clusterId, input.hostname, input.identity ?? null, input.now, input.now, facts, labels).lastInsertRowid,
        );
      }
      this.sql(
          `INSERT INTO nodes (id, cluster_id, instance_id, name, boot_id, token_hash, status, joined_at, last_heartbeat)
           VALUES (?, ?, ?, ?, ?, ?, 'Active', ?, ?)`,
        )
        .run(input.nodeId, input.clusterId, instanceId, input.name ?? null, input.bootId ?? null, input.tokenHash, input.now, input.now);
      const node = nodeFromRow(this.sql('SELECT * FROM nodes WHERE id = ?').get(input.nodeId) as Row);
      return { outcome: 'registered', node, instanceId, supersededNodeId: decision.action === 'supersede' ? decision.nodeId : null };
    })();
  }

  async getNode(nodeId: string): Promise<NodeRecord | undefined> {
    const row = this.sql('SELECT * FROM nodes WHERE id = ?').get(nodeId) as Row | undefined;
    return row && nodeFromRow(row);
  }

  async listNodes(clusterId: number, includeTerminated: boolean): Promise<NodeRecord[]> {
    const sql = includeTerminated
      ? 'SELECT * FROM nodes WHERE cluster_id = ? ORDER BY joined_at, id'
      : "SELECT * FROM nodes WHERE cluster_id = ? AND status = 'Active' ORDER BY joined_at, id";
    return (this.sql(sql).all(clusterId) as Row[]).map(nodeFromRow);
  }

  private terminate(nodeId: string, reason: TerminationReason, now: number): boolean {
    return (
      this.sql("UPDATE nodes SET status = 'Terminated', terminated_at = ?, termination_reason = ? WHERE id = ? AND status = 'Active'")
        .run(now, reason, nodeId).changes === 1
    );
  }

  async terminateNode(nodeId: string, reason: TerminationReason, now: number): Promise<boolean> {
    return this.terminate(nodeId, reason, now);
  }

  /**
   * One transaction per slice of HEARTBEAT_SLICE rows, yielding to the event loop between slices:
   * a second of heartbeats of a 100k fleet is ~10,000 row and index updates (tens of ms), which
   * would otherwise hold every request up at once. Each row's update is conditional on Active,
   * so whatever runs between two slices leaves the same outcome.
   */
  async writeHeartbeats(batch: readonly HeartbeatWrite[]): Promise<string[]> {
    const update = this.sql("UPDATE nodes SET last_heartbeat = MAX(last_heartbeat, ?) WHERE id = ? AND status = 'Active'");
    const writeSlice = this.db.transaction((slice: readonly HeartbeatWrite[], dropped: string[]) => {
      for (const { nodeId, at } of slice) if (update.run(at, nodeId).changes === 0) dropped.push(nodeId);
    });
    const dropped: string[] = [];
    for (let start = 0; start < batch.length; start += HEARTBEAT_SLICE) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      writeSlice(batch.slice(start, start + HEARTBEAT_SLICE), dropped);
    }
    return dropped;
  }

  async findExpiredNodes(cutoff: number, limit: number, clusterId?: number): Promise<ExpiredNode[]> {
    if (clusterId !== undefined) return this.sql(EXPIRED_IN_CLUSTER_SQL.sqlite).all(cutoff, clusterId, limit) as ExpiredNode[];
    return this.sql(
        `SELECT id AS nodeId, cluster_id AS clusterId, last_heartbeat AS lastHeartbeat FROM nodes
         WHERE status = 'Active' AND last_heartbeat < ? ORDER BY last_heartbeat LIMIT ?`,
      )
      .all(cutoff, limit) as ExpiredNode[];
  }

  async silenceByCluster(expiredBefore: number, overdueBefore: number): Promise<SilenceCounts[]> {
    return this.sql(SILENCE_BY_CLUSTER_SQL.sqlite).all(expiredBefore, overdueBefore, expiredBefore) as SilenceCounts[];
  }

  async countTimedOut(windowStarts: ReadonlyMap<number, number>): Promise<Map<number, number>> {
    const count = this.sql(COUNT_TIMED_OUT_SQL.sqlite).pluck();
    return new Map(Array.from(windowStarts, ([clusterId, since]) => [clusterId, Number(count.get(clusterId, since))]));
  }

  async oldestActiveHeartbeat(): Promise<number | null> {
    return this.sql(OLDEST_ACTIVE_HEARTBEAT_SQL).pluck().get() as number | null;
  }

  async countActiveNodes(clusterIds: readonly number[]): Promise<Map<number, number>> {
    const count = this.sql("SELECT count(*) FROM nodes WHERE cluster_id = ? AND status = 'Active'").pluck();
    return new Map(clusterIds.map((id) => [id, Number(count.get(id))]));
  }

  async terminateExpired(nodeIds: readonly string[], cutoff: number, now: number): Promise<string[]> {
    const update = this.sql(
      `UPDATE nodes SET status = 'Terminated', terminated_at = ?, termination_reason = 'HeartbeatTimeout'
       WHERE id = ? AND status = 'Active' AND last_heartbeat < ?`,
    );
    return this.db.transaction(() => nodeIds.filter((nodeId) => update.run(now, nodeId, cutoff).changes === 1))();
  }

  async getInstance(id: number): Promise<InstanceRecord | undefined> {
    const row = this.sql('SELECT * FROM instances WHERE id = ?').get(id) as Row | undefined;
    return row && instanceFromRow(row);
  }

  async recordInstanceReport(instanceId: number, report: InstanceReport): Promise<void> {
    this.db.transaction(() => {
      if (report.facts) {
        this.sql('UPDATE instances SET facts = ?, modified_at = ? WHERE id = ?').run(JSON.stringify(report.facts), report.now, instanceId);
      }
      if (report.labels) {
        this.sql('UPDATE instances SET labels = ?, modified_at = ? WHERE id = ?').run(JSON.stringify(report.labels), report.now, instanceId);
      }
      if (report.health) {
        this.sql(
            `UPDATE instances SET health_status = ?, errors = ?, last_health_check = ?, health_check_pending = 0, modified_at = ?
             WHERE id = ?`,
          )
          .run(report.health.status, errorsFromHealth(report.health), report.now, report.now, instanceId);
      }
    })();
  }

  // Operator APIs: the SQL lives in operator-queries.ts.
  async listClusters(afterId: number, limit: number): Promise<ClusterRecord[]> {
    return operator.listClusters(this.db, afterId, limit);
  }
  async countClusters(): Promise<number> {
    return Number(this.sql('SELECT count(*) FROM clusters').pluck().get());
  }
  async updateCluster(id: number, fields: { provider?: string | undefined; regions?: string[] | undefined }): Promise<ClusterRecord | undefined> {
    return operator.updateCluster(this.db, id, fields);
  }
  async listInstances(filter: InstanceFilter, page?: InstancePage): Promise<InstanceRecord[]> {
    return operator.listInstances(this.db, filter, page);
  }
  async countInstances(filter: InstanceFilter): Promise<number> {
    return operator.countInstances(this.db, filter);
  }
  tallyInstances(clusterIds?: readonly number[]): Promise<InstanceTally[]> {
    return operator.tallyInstances(this.db, clusterIds);
  }
  async regionLabels(clusterIds: readonly number[]): Promise<Map<number, string[]>> {
    return operator.regionLabels(this.db, clusterIds);
  }
  async latestNodes(instanceIds: readonly number[]): Promise<NodeRecord[]> {
    return operator.latestNodes(this.db, instanceIds);
  }
  async createInstance(input: NewInstance): Promise<InstanceWriteResult> {
    return operator.createInstance(this.db, input);
  }
  async updateInstance(id: number, fields: Partial<InstanceFields>, now: number): Promise<InstanceWriteResult> {
    return operator.updateInstance(this.db, id, fields, now);
  }
  async deleteInstance(id: number): Promise<DeleteInstanceResult> {
    return operator.deleteInstance(this.db, id);
  }
  async requestHealthCheck(id: number, now: number): Promise<HealthCheckRequestResult> {
    return operator.requestHealthCheck(this.db, id, now);
  }
  async listPendingHealthChecks(): Promise<PendingHealthCheck[]> {
    return operator.listPendingHealthChecks(this.db);
  }
  async failHealthChecks(startedBefore: number, errors: string, now: number): Promise<number[]> {
    return operator.failHealthChecks(this.db, startedBefore, errors, now);
  }
  async touchReplica(id: string, startedAt: number, now: number, forgetBefore: number): Promise<void> {
    this.sql(TOUCH_REPLICA_SQL.sqlite).run(id, startedAt, now);
    this.sql(FORGET_REPLICAS_SQL.sqlite).run(forgetBefore);
  }
  async countReplicas(seenSince: number): Promise<number> {
    return Number(this.sql(COUNT_REPLICAS_SQL.sqlite).pluck().get(seenSince));
  }
  async requestHoldLift(now: number): Promise<void> {
    this.sql(HOLD_LIFT_SQL.sqlite).run(now);
  }
  async holdLiftSequence(): Promise<number> {
    return Number(this.sql(HOLD_LIFT_SEQUENCE_SQL).pluck().get() ?? 0);
  }
  async insertEvent(event: MonitorEventRecord): Promise<void> {
    operator.insertEvent(this.db, event);
  }
  async getEvent(id: string): Promise<MonitorEventRecord | undefined> {
    return operator.getEvent(this.db, id);
  }
  async listEvents(limit: number): Promise<MonitorEventRecord[]> {
    return operator.listEvents(this.db, limit);
  }
  async pruneEvents(keep: number, olderThan: number): Promise<number> {
    return operator.pruneEvents(this.db, keep, olderThan);
  }
}
