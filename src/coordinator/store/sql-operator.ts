import { type RawBuilder, sql } from 'kysely';
import { chunks } from './chunks.ts';
import type { EngineTraits } from './engine.ts';
import { type InstanceSummaryRow, type InstanceTally, instanceSummaryQuery, instanceTallyQuery, regionLabelsQuery, regionsByCluster, sumByCluster, tallyFromRow } from './instance-tally.ts';
import { clusterFromRow, eventFromRow, eventRow, instanceFieldValues, instanceFromRow, nodeFromRow } from './rows.ts';
import { ACTIVE, CHECK_PENDING, type Db } from './schema.ts';
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
} from './store.ts';
import { definedOnly } from '../../shared/defined-only.ts';

/** The operator APIs' queries (clusters, instances, health checks, monitor events), written once for both engines. */

export async function updateCluster(db: Db, id: number, fields: { provider?: string | undefined; regions?: string[] | undefined }): Promise<ClusterRecord | undefined> {
  const values = { provider: fields.provider, regions: fields.regions && JSON.stringify(fields.regions) };
  const changes = definedOnly(values);
  if (Object.keys(changes).length > 0) await db.updateTable('clusters').set(changes).where('id', '=', id).execute();
  const row = await db.selectFrom('clusters').selectAll().where('id', '=', id).executeTakeFirst();
  return row && clusterFromRow(row);
}

function instancesMatching(db: Db, filter: InstanceFilter) {
  return db
    .selectFrom('instances')
    .$if(filter.clusterIds !== undefined, (query) =>
      filter.clusterIds!.length > 0 ? query.where('cluster_id', 'in', [...filter.clusterIds!]) : query.where(sql<boolean>`1 = 0`),
    )
    .$if(filter.hostname !== undefined, (query) => query.where('hostname', '=', filter.hostname!))
    .$if(filter.enabled !== undefined, (query) => query.where('enabled', '=', filter.enabled ? 1 : 0));
}

export async function listInstances(db: Db, filter: InstanceFilter, page?: InstancePage): Promise<InstanceRecord[]> {
  const rows = await instancesMatching(db, filter)
    .selectAll()
    .orderBy('id')
    .$if(page !== undefined, (query) => query.limit(page!.limit).offset(page!.offset))
    .execute();
  return rows.map(instanceFromRow);
}

export async function countInstances(db: Db, filter: InstanceFilter): Promise<number> {
  const row = await instancesMatching(db, filter).select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
  return Number(row.count);
}

/** `i.cluster_id` among these clusters (every instance when absent). */
function clusterCondition(clusterIds: readonly number[] | undefined): RawBuilder<unknown> {
  if (clusterIds === undefined) return sql`1 = 1`;
  return clusterIds.length > 0 ? sql`i.cluster_id IN (${sql.join(clusterIds)})` : sql`1 = 0`;
}

/**
 * The tally over id ranges of the engine's slice size, yielding to the event loop between them
 * where the driver is synchronous (~8 ms per 10,000 instances on SQLite). Slices are read one
 * after the other, not in one snapshot: fine for counts that the next check refreshes.
 */
export async function tallyInstances(db: Db, engine: EngineTraits, clusterIds: readonly number[] | undefined, sliceSize = engine.tallySliceSize): Promise<InstanceTally[]> {
  const clusters = clusterCondition(clusterIds);
  const tally = async (filter: RawBuilder<unknown>) => (await instanceTallyQuery(engine, filter).execute(db)).rows.map(tallyFromRow);
  if (!Number.isFinite(sliceSize)) return tally(clusters);
  const { maxId } = await db.selectFrom('instances').select((eb) => eb.fn.coalesce(eb.fn.max('id'), eb.lit(0)).as('maxId')).executeTakeFirstOrThrow();
  const parts: InstanceTally[] = [];
  for (let from = 0; from < Number(maxId); from += sliceSize) {
    if (from > 0) await new Promise((resolve) => setImmediate(resolve));
    parts.push(...(await tally(sql`${clusters} AND i.id > ${from} AND i.id <= ${from + sliceSize}`)));
  }
  return sumByCluster(parts);
}

export async function instanceSummaries(db: Db, engine: EngineTraits, afterId: number, limit: number): Promise<InstanceSummaryRow[]> {
  const { rows } = await sql<InstanceSummaryRow>`${instanceSummaryQuery(engine, sql`i.id > ${afterId}`)} LIMIT ${limit}`.execute(db);
  return rows;
}

export async function regionLabels(db: Db, engine: EngineTraits, clusterIds: readonly number[]): Promise<Map<number, string[]>> {
  return regionsByCluster((await regionLabelsQuery(engine, clusterCondition(clusterIds)).execute(db)).rows);
}

/** Per instance its Active node, else its newest node (by joined_at, then id); both lookups use an index. */
export async function latestNodes(db: Db, instanceIds: readonly number[]): Promise<NodeRecord[]> {
  const latest = new Map<number, NodeRecord>();
  const keep = (nodes: NodeRecord[]) => {
    for (const node of nodes) {
      const known = latest.get(node.instanceId);
      if (!known || node.nodeId > known.nodeId) latest.set(node.instanceId, node);
    }
  };
  for (const ids of chunks(instanceIds)) {
    keep((await db.selectFrom('nodes').selectAll().where('instance_id', 'in', ids).where('status', '=', ACTIVE).execute()).map(nodeFromRow));
  }
  for (const ids of chunks(instanceIds.filter((id) => !latest.has(id)))) {
    const newest = await db
      .selectFrom('nodes as n')
      .selectAll('n')
      .where('n.instance_id', 'in', ids)
      .where('n.joined_at', '=', (eb) => eb.selectFrom('nodes as m').select((m) => m.fn.max('m.joined_at').as('joined')).whereRef('m.instance_id', '=', 'n.instance_id'))
      .execute();
    keep(newest.map(nodeFromRow));
  }
  return [...latest.values()];
}

async function instanceById(db: Db, id: number): Promise<InstanceRecord | undefined> {
  const row = await db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
  return row && instanceFromRow(row);
}

/** A write refused by the (cluster, hostname) or (cluster, uuid) unique key answers `hostname-taken`. */
async function uniqueHostname(engine: EngineTraits, write: () => Promise<InstanceWriteResult>): Promise<InstanceWriteResult> {
  try {
    return await write();
  } catch (error) {
    if (engine.isUniqueViolation(error)) return { outcome: 'hostname-taken' };
    throw error;
  }
}

export function createInstance(db: Db, engine: EngineTraits, input: NewInstance): Promise<InstanceWriteResult> {
  return uniqueHostname(engine, async () => {
    const row = await db
      .insertInto('instances')
      .values({ ...instanceFieldValues(input), hostname: input.hostname, cluster_id: input.clusterId, uuid: input.uuid, created_at: input.now, modified_at: input.now })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { outcome: 'ok', instance: instanceFromRow(row) };
  });
}

export function updateInstance(db: Db, engine: EngineTraits, id: number, fields: Partial<InstanceFields>, now: number): Promise<InstanceWriteResult> {
  return uniqueHostname(engine, async () => {
    const row = await db
      .updateTable('instances')
      .set({ ...instanceFieldValues(fields), modified_at: now })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row ? { outcome: 'ok', instance: instanceFromRow(row) } : { outcome: 'not-found' };
  });
}

/** In the caller's transaction; the instance row is locked first where the engine locks rows, so a registration cannot add an Active node between the check and the delete. */
export async function deleteInstance(trx: Db, engine: EngineTraits, id: number): Promise<DeleteInstanceResult> {
  const instance = await trx
    .selectFrom('instances')
    .select('id')
    .where('id', '=', id)
    .$if(engine.locksRows, (query) => query.forUpdate())
    .executeTakeFirst();
  if (!instance) return 'not-found';
  if (await trx.selectFrom('nodes').select('id').where('instance_id', '=', id).where('status', '=', ACTIVE).executeTakeFirst()) return 'active-node';
  await trx.deleteFrom('nodes').where('instance_id', '=', id).execute();
  await trx.deleteFrom('instances').where('id', '=', id).execute();
  return 'deleted';
}

export async function requestHealthCheck(db: Db, id: number, now: number): Promise<HealthCheckRequestResult> {
  const started = await db
    .updateTable('instances')
    .set({ health_check_pending: 1, health_check_started: now })
    .where('id', '=', id)
    .where('health_check_pending', '=', 0)
    .executeTakeFirst();
  if (started.numUpdatedRows === 1n) return 'started';
  return (await instanceById(db, id)) ? 'already-pending' : 'not-found';
}

/**
 * Read from the partial index of pending checks (instances_pending_health_check) and sorted here:
 * with ORDER BY id, SQLite walked the whole table in id order instead (~70 ms at a million
 * instances, every few seconds on the event loop).
 */
export async function listPendingHealthChecks(db: Db): Promise<PendingHealthCheck[]> {
  const rows = await db.selectFrom('instances').select(['id', 'health_check_started']).where('health_check_pending', '=', CHECK_PENDING).execute();
  return rows.map((row) => ({ instanceId: Number(row.id), startedAt: Number(row.health_check_started ?? 0) })).sort((a, b) => a.instanceId - b.instanceId);
}

/** One conditional statement: a check that a report completed meanwhile is not failed. */
export async function failHealthChecks(db: Db, startedBefore: number, errors: string, now: number): Promise<number[]> {
  const failed = await db
    .updateTable('instances')
    .set({ health_check_pending: 0, errors, modified_at: now })
    .where('health_check_pending', '=', CHECK_PENDING)
    .where('health_check_started', '<', startedBefore)
    .returning('id')
    .execute();
  return failed.map((row) => Number(row.id)).sort((a, b) => a - b);
}

export async function insertEvent(db: Db, event: MonitorEventRecord): Promise<void> {
  await db.insertInto('monitor_events').values(eventRow(event)).execute();
}

export async function getEvent(db: Db, id: string): Promise<MonitorEventRecord | undefined> {
  const row = await db.selectFrom('monitor_events').selectAll().where('id', '=', id).executeTakeFirst();
  return row && eventFromRow(row);
}

export async function listEvents(db: Db, limit: number): Promise<MonitorEventRecord[]> {
  const rows = await db.selectFrom('monitor_events').selectAll().orderBy('recorded_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map(eventFromRow);
}

/** In the caller's transaction: events older than `olderThan` and beyond the newest `keep` go, never the newest one. */
export async function pruneEvents(trx: Db, keep: number, olderThan: number): Promise<number> {
  const newest = trx.selectFrom('monitor_events').select('id').orderBy('recorded_at', 'desc').orderBy('id', 'desc');
  const old = await trx
    .deleteFrom('monitor_events')
    .where('recorded_at', '<', olderThan)
    .where('id', '<>', newest.limit(1))
    .executeTakeFirst();
  const excess = await trx.deleteFrom('monitor_events').where('id', 'not in', newest.limit(keep)).executeTakeFirst();
  return Number(old.numDeletedRows) + Number(excess.numDeletedRows);
}
