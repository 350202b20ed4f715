import type { Insertable, Selectable } from 'kysely';
import { chunks } from './chunks.ts';
import type { EngineTraits } from './engine.ts';
import { prepare } from './prepared-query.ts';
import { type Db, type NodeTransitionsTable, TERMINATED } from './schema.ts';
import type { NewTransition, TransitionRecord } from './transitions.ts';

/** The transitions log (migration 8), written once for both engines: appended inside the transaction of the change it records. */

export async function appendTransitions(trx: Db, engine: EngineTraits, transitions: readonly NewTransition[]): Promise<void> {
  if (transitions.length === 0) return;
  await engine.orderLogCommits(trx);
  const rows = transitions.map(transitionRow);
  // A registration appends one row (two when it supersedes): compiled once, as the rest of its path.
  if (rows.length <= 2) {
    for (const row of rows) await appendOne.run(trx, engine, row);
    return;
  }
  // A sweep may end tens of thousands of nodes at once; an insert binds at most 32,766 values on SQLite.
  for (const part of chunks(rows, TRANSITIONS_PER_INSERT)) await trx.insertInto('node_transitions').values(part).execute();
}

const TRANSITIONS_PER_INSERT = 1000;

type TransitionRow = Omit<Insertable<NodeTransitionsTable>, 'id'>;

const appendOne = prepare<TransitionRow, never>((db, _engine, p) =>
  db.insertInto('node_transitions').values({
    recorded_at: p('recorded_at'),
    kind: p('kind'),
    cluster_id: p('cluster_id'),
    instance_id: p('instance_id'),
    node_id: p('node_id'),
    reason: p('reason'),
    evidence: p('evidence'),
  }),
);

function transitionRow(transition: NewTransition): TransitionRow {
  return {
    recorded_at: transition.recordedAt,
    kind: transition.kind,
    cluster_id: transition.clusterId,
    instance_id: transition.instanceId,
    node_id: transition.nodeId,
    reason: transition.reason,
    evidence: JSON.stringify(transition.evidence),
  };
}

export function transitionFromRow(row: Selectable<NodeTransitionsTable>): TransitionRecord {
  return {
    id: Number(row.id),
    recordedAt: Number(row.recorded_at),
    kind: row.kind,
    clusterId: Number(row.cluster_id),
    instanceId: row.instance_id === null ? null : Number(row.instance_id),
    nodeId: row.node_id,
    reason: row.reason,
    evidence: JSON.parse(row.evidence),
  } as TransitionRecord;
}

/** One instance's transitions, newest first (index node_transitions_by_instance). */
export async function instanceHistory(db: Db, instanceId: number, offset: number, limit: number): Promise<TransitionRecord[]> {
  const rows = await db
    .selectFrom('node_transitions')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .orderBy('id', 'desc')
    .limit(limit)
    .offset(offset)
    .execute();
  return rows.map(transitionFromRow);
}

export async function countInstanceHistory(db: Db, instanceId: number): Promise<number> {
  const row = await db
    .selectFrom('node_transitions')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('instance_id', '=', instanceId)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Transitions after this id, oldest first: the watch stream's read. */
export async function transitionsAfter(db: Db, afterId: number, limit: number): Promise<TransitionRecord[]> {
  const rows = await db.selectFrom('node_transitions').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map(transitionFromRow);
}

/** The oldest and newest ids the log still holds (null when it is empty). */
export async function transitionIdRange(db: Db): Promise<{ oldest: number; newest: number } | null> {
  const row = await db
    .selectFrom('node_transitions')
    .select((eb) => [eb.fn.min('id').as('oldest'), eb.fn.max('id').as('newest')])
    .executeTakeFirstOrThrow();
  return row.oldest === null || row.newest === null ? null : { oldest: Number(row.oldest), newest: Number(row.newest) };
}

/** Deletes at most `limit` transitions recorded before `olderThan`, oldest first; returns how many went. */
export async function pruneTransitions(db: Db, olderThan: number, limit: number): Promise<number> {
  const oldest = db.selectFrom('node_transitions').select('id').where('recorded_at', '<', olderThan).orderBy('recorded_at').limit(limit);
  const result = await db.deleteFrom('node_transitions').where('id', 'in', oldest).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Deletes at most `limit` nodes Terminated before `olderThan` (index nodes_terminated_by_time),
 * but never an instance's newest node: its node_state and its cluster's counts derive from it.
 */
export async function pruneTerminatedNodes(db: Db, olderThan: number, limit: number): Promise<number> {
  const old = db
    .selectFrom('nodes as old')
    .select('old.id')
    .where('old.status', '=', TERMINATED)
    .where('old.terminated_at', '<', olderThan)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('nodes as newer')
          .select('newer.id')
          .whereRef('newer.instance_id', '=', 'old.instance_id')
          .whereRef('newer.joined_at', '>', 'old.joined_at'),
      ),
    )
    .orderBy('old.terminated_at')
    .limit(limit);
  const result = await db.deleteFrom('nodes').where('id', 'in', old).executeTakeFirst();
  return Number(result.numDeletedRows);
}
