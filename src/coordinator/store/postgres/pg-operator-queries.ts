import type pg from 'pg';
import { type InstanceTally, instanceTallySql, regionLabelsSql, regionsByCluster, tallyFromRow } from '../instance-tally.ts';
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
import { inTransaction } from './pg-pool.ts';

type Row = Record<string, unknown>;

/** PostgreSQL's side of the operator APIs (clusters, instances, health checks, monitor events). */

const marks = (count: number, from = 1) => Array.from({ length: count }, (_, index) => `$${index + from}`).join(', ');
const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

async function rows(pool: pg.Pool, text: string, values: unknown[] = []): Promise<Row[]> {
  return (await pool.query(text, values)).rows as Row[];
}

export async function listClusters(pool: pg.Pool, afterId: number, limit: number): Promise<ClusterRecord[]> {
  return (await rows(pool, 'SELECT * FROM clusters WHERE id > $1 ORDER BY id LIMIT $2', [afterId, limit])).map(clusterFromRow);
}

export async function updateCluster(
  pool: pg.Pool,
  id: number,
  fields: { provider?: string | undefined; regions?: string[] | undefined },
): Promise<ClusterRecord | undefined> {
  const regions = fields.regions === undefined ? null : JSON.stringify(fields.regions);
  const [row] = await rows(pool, 'UPDATE clusters SET provider = COALESCE($1, provider), regions = COALESCE($2, regions) WHERE id = $3 RETURNING *', [
    fields.provider ?? null,
    regions,
    id,
  ]);
  return row && clusterFromRow(row);
}

/** The WHERE clause of an instance filter, with its parameters ($1, $2... in order). */
function instanceWhere(filter: InstanceFilter): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.clusterIds) {
    params.push(filter.clusterIds);
    where.push(`cluster_id = ANY($${params.length}::int[])`);
  }
  if (filter.hostname !== undefined) {
    params.push(filter.hostname);
    where.push(`hostname = $${params.length}`);
  }
  if (filter.enabled !== undefined) {
    params.push(filter.enabled ? 1 : 0);
    where.push(`enabled = $${params.length}`);
  }
  return { sql: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}

export async function listInstances(pool: pg.Pool, filter: InstanceFilter, page?: InstancePage): Promise<InstanceRecord[]> {
  const where = instanceWhere(filter);
  const n = where.params.length;
  const limit = page ? ` LIMIT $${n + 1} OFFSET $${n + 2}` : '';
  const params = page ? [...where.params, page.limit, page.offset] : where.params;
  return (await rows(pool, `SELECT * FROM instances ${where.sql} ORDER BY id${limit}`, params)).map(instanceFromRow);
}

export async function countInstances(pool: pg.Pool, filter: InstanceFilter): Promise<number> {
  const where = instanceWhere(filter);
  return Number((await rows(pool, `SELECT count(*) AS count FROM instances ${where.sql}`, where.params))[0]?.count ?? 0);
}

/** `i.cluster_id` limited to these clusters (all when absent), with its parameters. */
function clusterCondition(clusterIds: readonly number[] | undefined): [string, unknown[]] {
  return clusterIds === undefined ? ['TRUE', []] : ['i.cluster_id = ANY($1::int[])', [clusterIds]];
}

export async function tallyInstances(pool: pg.Pool, clusterIds: readonly number[] | undefined): Promise<InstanceTally[]> {
  const [condition, params] = clusterCondition(clusterIds);
  return (await rows(pool, instanceTallySql('postgres', condition), params)).map(tallyFromRow);
}

export async function regionLabels(pool: pg.Pool, clusterIds: readonly number[]): Promise<Map<number, string[]>> {
  const [condition, params] = clusterCondition(clusterIds);
  return regionsByCluster(await rows(pool, regionLabelsSql('postgres', condition), params));
}

/** The newest node of each instance, its Active node first: one DISTINCT ON query. */
export async function latestNodes(pool: pg.Pool, instanceIds: readonly number[]): Promise<NodeRecord[]> {
  if (instanceIds.length === 0) return [];
  const found = await rows(
    pool,
    `SELECT DISTINCT ON (instance_id) * FROM nodes WHERE instance_id = ANY($1::int[])
     ORDER BY instance_id, (status = 'Active') DESC, joined_at DESC, id DESC`,
    [instanceIds],
  );
  return found.map(nodeFromRow);
}

async function instanceById(pool: pg.Pool, id: number): Promise<InstanceRecord | undefined> {
  const [row] = await rows(pool, 'SELECT * FROM instances WHERE id = $1', [id]);
  return row && instanceFromRow(row);
}

export async function createInstance(pool: pg.Pool, input: NewInstance): Promise<InstanceWriteResult> {
  const pairs = instanceFieldColumns(input);
  const columns = ['cluster_id', 'uuid', 'created_at', 'modified_at', ...pairs.map(([column]) => column)];
  try {
    const [row] = await rows(pool, `INSERT INTO instances (${columns.join(', ')}) VALUES (${marks(columns.length)}) RETURNING *`, [
      input.clusterId,
      input.uuid,
      input.now,
      input.now,
      ...pairs.map(([, value]) => value),
    ]);
    return { outcome: 'ok', instance: instanceFromRow(row as Row) };
  } catch (error) {
    if (isUniqueViolation(error)) return { outcome: 'hostname-taken' };
    throw error;
  }
}

export async function updateInstance(pool: pg.Pool, id: number, fields: Partial<InstanceFields>, now: number): Promise<InstanceWriteResult> {
  const pairs = instanceFieldColumns(fields);
  const assignments = [...pairs.map(([column], index) => `${column} = $${index + 1}`), `modified_at = $${pairs.length + 1}`];
  try {
    const [row] = await rows(pool, `UPDATE instances SET ${assignments.join(', ')} WHERE id = $${pairs.length + 2} RETURNING *`, [
      ...pairs.map(([, value]) => value),
      now,
      id,
    ]);
    return row ? { outcome: 'ok', instance: instanceFromRow(row) } : { outcome: 'not-found' };
  } catch (error) {
    if (isUniqueViolation(error)) return { outcome: 'hostname-taken' };
    throw error;
  }
}

/** The instance row is locked first, so a registration cannot add an Active node between the check and the delete. */
export async function deleteInstance(pool: pg.Pool, id: number): Promise<DeleteInstanceResult> {
  return inTransaction(pool, async (db): Promise<DeleteInstanceResult> => {
    if ((await db.query('SELECT 1 FROM instances WHERE id = $1 FOR UPDATE', [id])).rowCount === 0) return 'not-found';
    if ((await db.query("SELECT 1 FROM nodes WHERE instance_id = $1 AND status = 'Active'", [id])).rowCount !== 0) return 'active-node';
    await db.query('DELETE FROM nodes WHERE instance_id = $1', [id]);
    await db.query('DELETE FROM instances WHERE id = $1', [id]);
    return 'deleted';
  });
}

export async function requestHealthCheck(pool: pg.Pool, id: number, now: number): Promise<HealthCheckRequestResult> {
  const started = await pool.query('UPDATE instances SET health_check_pending = 1, health_check_started = $1 WHERE id = $2 AND health_check_pending = 0', [
    now,
    id,
  ]);
  if (started.rowCount === 1) return 'started';
  return (await instanceById(pool, id)) ? 'already-pending' : 'not-found';
}

export async function listPendingHealthChecks(pool: pg.Pool): Promise<PendingHealthCheck[]> {
  return (await rows(pool, 'SELECT id, health_check_started FROM instances WHERE health_check_pending = 1 ORDER BY id')).map((row) => ({
    instanceId: Number(row.id),
    startedAt: Number(row.health_check_started ?? 0),
  }));
}

/** One conditional statement: a check that a report completed meanwhile is not failed. */
export async function failHealthChecks(pool: pg.Pool, startedBefore: number, errors: string, now: number): Promise<number[]> {
  const failed = await rows(
    pool,
    `UPDATE instances SET health_check_pending = 0, errors = $1, modified_at = $2
     WHERE health_check_pending = 1 AND health_check_started < $3 RETURNING id`,
    [errors, now, startedBefore],
  );
  return failed.map((row) => Number(row.id)).sort((a, b) => a - b);
}

export async function insertEvent(pool: pg.Pool, event: MonitorEventRecord): Promise<void> {
  await pool.query(`INSERT INTO monitor_events (${EVENT_COLUMNS.join(', ')}) VALUES (${marks(EVENT_COLUMNS.length)})`, eventValues(event));
}

export async function getEvent(pool: pg.Pool, id: string): Promise<MonitorEventRecord | undefined> {
  const [row] = await rows(pool, 'SELECT * FROM monitor_events WHERE id = $1', [id]);
  return row && eventFromRow(row);
}

export async function listEvents(pool: pg.Pool, limit: number): Promise<MonitorEventRecord[]> {
  return (await rows(pool, 'SELECT * FROM monitor_events ORDER BY recorded_at DESC, id DESC LIMIT $1', [limit])).map(eventFromRow);
}

export async function pruneEvents(pool: pg.Pool, keep: number, olderThan: number): Promise<number> {
  const newest = '(SELECT id FROM monitor_events ORDER BY recorded_at DESC, id DESC LIMIT 1)';
  return inTransaction(pool, async (db) => {
    const old = await db.query(`DELETE FROM monitor_events WHERE recorded_at < $1 AND id <> ${newest}`, [olderThan]);
    const excess = await db.query('DELETE FROM monitor_events WHERE id NOT IN (SELECT id FROM monitor_events ORDER BY recorded_at DESC, id DESC LIMIT $1)', [
      keep,
    ]);
    return (old.rowCount ?? 0) + (excess.rowCount ?? 0);
  });
}
