import { sql } from 'kysely';
import type { EngineTraits } from './engine.ts';
import { instanceFromRow } from './rows.ts';
import { ACTIVE, type Db } from './schema.ts';
import { appendTransitions } from './sql-history.ts';
import type { InstanceWriteResult, MaintenanceEntry, MaintenanceSilence, MaintenanceWindow } from './store.ts';
import type { MaintenanceChange, NewTransition } from './transitions.ts';

/**
 * Instances' maintenance windows (migration 10), written once for both engines. An instance is in
 * maintenance while `maintenance_until` is later than the coordinator's clock: nothing ends it but
 * time (or an admin), so no row changes when it passes; the sweeper records the end lazily.
 */

/** What a change of the window means, judged at `now`. */
function changeOf(before: number | null, after: number | null, now: number): MaintenanceChange {
  const was = before !== null && before > now;
  const is = after !== null && after > now;
  if (is) return was ? 'changed' : 'started';
  return was ? 'ended' : 'changed';
}

/** In the caller's transaction: the window, and its transition when it changed anything. */
export async function setMaintenance(trx: Db, engine: EngineTraits, id: number, window: MaintenanceWindow, now: number): Promise<InstanceWriteResult> {
  const before = await trx
    .selectFrom('instances')
    .select(['maintenance_until', 'maintenance_reason'])
    .where('id', '=', id)
    .$if(engine.locksRows, (query) => query.forUpdate())
    .executeTakeFirst();
  if (!before) return { outcome: 'not-found' };
  const previousUntil = before.maintenance_until === null ? null : Number(before.maintenance_until);
  const unchanged = previousUntil === window.until && before.maintenance_reason === window.reason;
  const row = await trx
    .updateTable('instances')
    .set({ maintenance_until: window.until, maintenance_reason: window.reason, ...(unchanged ? {} : { modified_at: now }) })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const instance = instanceFromRow(row);
  if (!unchanged) {
    await appendTransitions(trx, engine, [
      {
        kind: 'maintenance-changed',
        recordedAt: now,
        clusterId: instance.clusterId,
        instanceId: id,
        nodeId: null,
        reason: changeOf(previousUntil, window.until, now),
        evidence: { until: window.until, reason: window.reason, setBy: 'admin' },
      },
    ]);
  }
  return { outcome: 'ok', instance };
}

/** Instances in maintenance beyond `now` (index instances_by_maintenance_end). */
export async function instancesInMaintenance(db: Db, now: number): Promise<MaintenanceEntry[]> {
  const rows = await db
    .selectFrom('instances')
    .select(['id', 'cluster_id', 'maintenance_until'])
    .where('maintenance_until', 'is not', null)
    .where('maintenance_until', '>', now)
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ instanceId: Number(row.id), clusterId: Number(row.cluster_id), until: Number(row.maintenance_until) }));
}

/** In the caller's transaction: one `maintenance-changed` (ended, by the coordinator) per window that ended in (after, upTo]. */
export async function recordMaintenanceEnds(trx: Db, engine: EngineTraits, after: number, upTo: number): Promise<number> {
  const rows = await trx
    .selectFrom('instances')
    .select(['id', 'cluster_id', 'maintenance_until', 'maintenance_reason'])
    .where('maintenance_until', 'is not', null)
    .where('maintenance_until', '>', after)
    .where('maintenance_until', '<=', upTo)
    .orderBy('maintenance_until')
    .orderBy('id')
    .execute();
  const transitions: NewTransition[] = rows.map((row) => ({
    kind: 'maintenance-changed',
    recordedAt: upTo,
    clusterId: Number(row.cluster_id),
    instanceId: Number(row.id),
    nodeId: null,
    reason: 'ended',
    evidence: { until: Number(row.maintenance_until), reason: row.maintenance_reason, setBy: 'coordinator' },
  }));
  await appendTransitions(trx, engine, transitions);
  return transitions.length;
}

/** A cluster's Active nodes of instances in maintenance (index instances_in_maintenance, then each one's Active node). */
export async function maintenanceSilence(db: Db, clusterId: number, now: number, overdueBefore: number): Promise<MaintenanceSilence> {
  const row = await db
    .selectFrom('instances as i')
    .innerJoin('nodes as n', (join) => join.onRef('n.instance_id', '=', 'i.id').on('n.status', '=', ACTIVE))
    .select((eb) => [
      eb.fn.countAll<number>().as('active'),
      eb.fn.coalesce(eb.fn.sum<number>(eb.case().when('n.last_heartbeat', '<', overdueBefore).then(1).else(0).end()), sql<number>`0`).as('overdue'),
    ])
    .where('i.cluster_id', '=', clusterId)
    .where('i.maintenance_until', 'is not', null)
    .where('i.maintenance_until', '>', now)
    .executeTakeFirst();
  return { active: Number(row?.active ?? 0), overdue: Number(row?.overdue ?? 0) };
}

/** Of these instances, those in maintenance at `now`, with their windows: a timeout among them is expected. */
export async function maintenanceWindows(db: Db, instanceIds: readonly number[], now: number): Promise<Map<number, { until: number; reason: string }>> {
  const windows = new Map<number, { until: number; reason: string }>();
  if (instanceIds.length === 0) return windows;
  const rows = await db
    .selectFrom('instances')
    .select(['id', 'maintenance_until', 'maintenance_reason'])
    .where('id', 'in', [...instanceIds])
    .where('maintenance_until', 'is not', null)
    .where('maintenance_until', '>', now)
    .execute();
  for (const row of rows) windows.set(Number(row.id), { until: Number(row.maintenance_until), reason: row.maintenance_reason });
  return windows;
}
