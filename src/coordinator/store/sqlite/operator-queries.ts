import type Database from 'better-sqlite3';
import { type InstanceTally, instanceTallySql, regionLabelsSql, regionsByCluster, sumByCluster, tallyFromRow } from '../instance-tally.ts';
import { EVENT_COLUMNS, clusterFromRow, eventFromRow, eventValues, instanceFieldColumns, instanceFromRow, nodeFromRow } from '../rows.ts';
import type {
  ClusterRecord,
  DeleteInstanceResult,
  HealthCheckRequestResult,
  InstanceFields,
  InstanceFilter,
  InstancePage,
  InstanceRecord,
  InstanceWriteResult,
  MonitorEventRecord,
  NewInstance,
  NodeRecord,
  PendingHealthCheck,
} from '../store.ts';

type Row = Record<string, unknown>;
type Db = Database.Database;

/** SQLite's side of the operator APIs (clusters, instances, health checks, monitor events). */

const CHUNK = 500;
const marks = (count: number) => Array.from({ length: count }, () => '?').join(', ');
const isUniqueViolation = (error: unknown) => (error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true;

export function listClusters(db: Db, afterId: number, limit: number): ClusterRecord[] {
  return (db.prepare('SELECT * FROM clusters WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as Row[]).map(clusterFromRow);
}

export function updateCluster(db: Db, id: number, fields: { provider?: string | undefined; regions?: string[] | undefined }): ClusterRecord | undefined {
  if (fields.provider !== undefined) db.prepare('UPDATE clusters SET provider = ? WHERE id = ?').run(fields.provider, id);
  if (fields.regions !== undefined) db.prepare('UPDATE clusters SET regions = ? WHERE id = ?').run(JSON.stringify(fields.regions), id);
  const row = db.prepare('SELECT * FROM clusters WHERE id = ?').get(id) as Row | undefined;
  return row && clusterFromRow(row);
}

/** The WHERE clause of an instance filter, with its parameters. */
function instanceWhere(filter: InstanceFilter): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.clusterIds) {
    where.push(filter.clusterIds.length > 0 ? `cluster_id IN (${marks(filter.clusterIds.length)})` : '0 = 1');
    params.push(...filter.clusterIds);
  }
  if (filter.hostname !== undefined) {
    where.push('hostname = ?');
    params.push(filter.hostname);
  }
  if (filter.enabled !== undefined) {
    where.push('enabled = ?');
    params.push(filter.enabled ? 1 : 0);
  }
  return { sql: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}

export function listInstances(db: Db, filter: InstanceFilter, page?: InstancePage): InstanceRecord[] {
  const where = instanceWhere(filter);
  const limit = page ? ' LIMIT ? OFFSET ?' : '';
  const params = page ? [...where.params, page.limit, page.offset] : where.params;
  return (db.prepare(`SELECT * FROM instances ${where.sql} ORDER BY id${limit}`).all(...params) as Row[]).map(instanceFromRow);
}

export function countInstances(db: Db, filter: InstanceFilter): number {
  const where = instanceWhere(filter);
  return Number(db.prepare(`SELECT count(*) FROM instances ${where.sql}`).pluck().get(...where.params));
}

/** `i.cluster_id` limited to these clusters (all when absent), with its parameters. */
function clusterCondition(clusterIds: readonly number[] | undefined): [string, readonly number[]] {
  return clusterIds === undefined ? ['1 = 1', []] : [`i.cluster_id IN (${clusterIds.length > 0 ? marks(clusterIds.length) : 'NULL'})`, clusterIds];
}

/** Instances per slice of the tally: SQLite blocks the event loop while it runs, so the tally yields between slices. */
const TALLY_SLICE = 10_000;

/**
 * The tally over id ranges of TALLY_SLICE instances, yielding to the event loop between them
 * (~8 ms each), so a 100k fleet never holds heartbeats up for the whole ~80 ms. Slices are read
 * one after the other, not in one snapshot: fine for counts that the next check refreshes.
 */
export async function tallyInstances(db: Db, clusterIds: readonly number[] | undefined, sliceSize = TALLY_SLICE): Promise<InstanceTally[]> {
  const [condition, params] = clusterCondition(clusterIds);
  const slice = db.prepare(instanceTallySql('sqlite', `${condition} AND i.id > ? AND i.id <= ?`));
  const maxId = Number(db.prepare('SELECT coalesce(max(id), 0) FROM instances').pluck().get());
  const parts: InstanceTally[] = [];
  for (let from = 0; from < maxId; from += sliceSize) {
    if (from > 0) await new Promise((resolve) => setImmediate(resolve));
    parts.push(...(slice.all(...params, from, from + sliceSize) as Row[]).map(tallyFromRow));
  }
  return sumByCluster(parts);
}

export function regionLabels(db: Db, clusterIds: readonly number[]): Map<number, string[]> {
  const [condition, params] = clusterCondition(clusterIds);
  return regionsByCluster(db.prepare(regionLabelsSql('sqlite', condition)).all(...params) as Row[]);
}

/** Per instance its Active node, else its newest node (by joined_at, then id); both lookups use an index. */
export function latestNodes(db: Db, instanceIds: readonly number[]): NodeRecord[] {
  const latest = new Map<number, NodeRecord>();
  const select = (sql: string, ids: readonly number[]) => {
    for (let start = 0; start < ids.length; start += CHUNK) {
      const chunk = ids.slice(start, start + CHUNK);
      const rows = db.prepare(sql.replace('?ids', marks(chunk.length))).all(...chunk) as Row[];
      for (const node of rows.map(nodeFromRow)) {
        const known = latest.get(node.instanceId);
        if (!known || node.nodeId > known.nodeId) latest.set(node.instanceId, node);
      }
    }
  };
  select("SELECT * FROM nodes WHERE instance_id IN (?ids) AND status = 'Active'", instanceIds);
  select(
    'SELECT n.* FROM nodes n WHERE n.instance_id IN (?ids) AND n.joined_at = (SELECT max(m.joined_at) FROM nodes m WHERE m.instance_id = n.instance_id)',
    instanceIds.filter((id) => !latest.has(id)),
  );
  return [...latest.values()];
}

function instanceById(db: Db, id: number): InstanceRecord | undefined {
  const row = db.prepare('SELECT * FROM instances WHERE id = ?').get(id) as Row | undefined;
  return row && instanceFromRow(row);
}

export function createInstance(db: Db, input: NewInstance): InstanceWriteResult {
  const pairs = instanceFieldColumns(input);
  const columns = ['cluster_id', 'uuid', 'created_at', 'modified_at', ...pairs.map(([column]) => column)];
  try {
    const id = db
      .prepare(`INSERT INTO instances (${columns.join(', ')}) VALUES (${marks(columns.length)})`)
      .run(input.clusterId, input.uuid, input.now, input.now, ...pairs.map(([, value]) => value)).lastInsertRowid;
    return { outcome: 'ok', instance: instanceById(db, Number(id)) as InstanceRecord };
  } catch (error) {
    if (isUniqueViolation(error)) return { outcome: 'hostname-taken' };
    throw error;
  }
}

export function updateInstance(db: Db, id: number, fields: Partial<InstanceFields>, now: number): InstanceWriteResult {
  const pairs = instanceFieldColumns(fields);
  const assignments = [...pairs.map(([column]) => `${column} = ?`), 'modified_at = ?'];
  try {
    const changed = db.prepare(`UPDATE instances SET ${assignments.join(', ')} WHERE id = ?`).run(...pairs.map(([, value]) => value), now, id).changes;
    if (changed === 0) return { outcome: 'not-found' };
  } catch (error) {
    if (isUniqueViolation(error)) return { outcome: 'hostname-taken' };
    throw error;
  }
  return { outcome: 'ok', instance: instanceById(db, id) as InstanceRecord };
}

export function deleteInstance(db: Db, id: number): DeleteInstanceResult {
  return db.transaction((): DeleteInstanceResult => {
    if (!db.prepare('SELECT 1 FROM instances WHERE id = ?').get(id)) return 'not-found';
    if (db.prepare("SELECT 1 FROM nodes WHERE instance_id = ? AND status = 'Active'").get(id)) return 'active-node';
    db.prepare('DELETE FROM nodes WHERE instance_id = ?').run(id);
    db.prepare('DELETE FROM instances WHERE id = ?').run(id);
    return 'deleted';
  })();
}

export function requestHealthCheck(db: Db, id: number, now: number): HealthCheckRequestResult {
  const started = db
    .prepare('UPDATE instances SET health_check_pending = 1, health_check_started = ? WHERE id = ? AND health_check_pending = 0')
    .run(now, id).changes;
  if (started === 1) return 'started';
  return db.prepare('SELECT 1 FROM instances WHERE id = ?').get(id) ? 'already-pending' : 'not-found';
}

export function listPendingHealthChecks(db: Db): PendingHealthCheck[] {
  return (db.prepare('SELECT id, health_check_started FROM instances WHERE health_check_pending = 1 ORDER BY id').all() as Row[]).map((row) => ({
    instanceId: Number(row.id),
    startedAt: Number(row.health_check_started ?? 0),
  }));
}

export function failHealthChecks(db: Db, startedBefore: number, errors: string, now: number): number[] {
  return db.transaction(() => {
    const ids = db
      .prepare('SELECT id FROM instances WHERE health_check_pending = 1 AND health_check_started < ?')
      .pluck()
      .all(startedBefore) as number[];
    const update = db.prepare('UPDATE instances SET health_check_pending = 0, errors = ?, modified_at = ? WHERE id = ? AND health_check_pending = 1');
    return ids.filter((id) => update.run(errors, now, id).changes === 1).map(Number);
  })();
}

export function insertEvent(db: Db, event: MonitorEventRecord): void {
  db.prepare(`INSERT INTO monitor_events (${EVENT_COLUMNS.join(', ')}) VALUES (${marks(EVENT_COLUMNS.length)})`).run(...eventValues(event));
}

export function getEvent(db: Db, id: string): MonitorEventRecord | undefined {
  const row = db.prepare('SELECT * FROM monitor_events WHERE id = ?').get(id) as Row | undefined;
  return row && eventFromRow(row);
}

export function listEvents(db: Db, limit: number): MonitorEventRecord[] {
  return (db.prepare('SELECT * FROM monitor_events ORDER BY recorded_at DESC, id DESC LIMIT ?').all(limit) as Row[]).map(eventFromRow);
}

export function pruneEvents(db: Db, keep: number, olderThan: number): number {
  const newest = '(SELECT id FROM monitor_events ORDER BY recorded_at DESC, id DESC LIMIT 1)';
  return db.transaction(() => {
    const old = db.prepare(`DELETE FROM monitor_events WHERE recorded_at < ? AND id <> ${newest}`).run(olderThan).changes;
    const excess = db
      .prepare('DELETE FROM monitor_events WHERE id NOT IN (SELECT id FROM monitor_events ORDER BY recorded_at DESC, id DESC LIMIT ?)')
      .run(keep).changes;
    return old + excess;
  })();
}
