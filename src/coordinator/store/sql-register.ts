import type { EngineTraits } from './engine.ts';
import { SUPERSEDED_REASON, chooseInstance, decideActiveNode } from './plan-registration.ts';
import { prepare } from './prepared-query.ts';
import { nodeFromRow } from './rows.ts';
import { ACTIVE, type Db } from './schema.ts';
import type { RegisterNodeInput, RegisterNodeResult } from './store.ts';

const instanceBy = (column: 'uuid' | 'hostname') =>
  prepare<{ clusterId: number; value: string }, { id: number; uuid: string | null; hostname: string }>((db, engine, p) =>
    db
      .selectFrom('instances')
      .select(['id', 'uuid', 'hostname'])
      .where('cluster_id', '=', p('clusterId'))
      .where(column, '=', p('value'))
      .$if(engine.locksRows, (query) => query.forUpdate()),
  );
const instanceByUuid = instanceBy('uuid');
const instanceByHostname = instanceBy('hostname');

const activeNodeOf = prepare<{ instanceId: number }, { nodeId: string; bootId: string | null; lastHeartbeat: number }>((db, engine, p) =>
  db
    .selectFrom('nodes')
    .select(['id as nodeId', 'boot_id as bootId', 'last_heartbeat as lastHeartbeat'])
    .where('instance_id', '=', p('instanceId'))
    .where('status', '=', ACTIVE)
    .$if(engine.locksRows, (query) => query.forUpdate()),
);

const supersede = prepare<{ nodeId: string; now: number }, never>((db, _engine, p) =>
  db
    .updateTable('nodes')
    .set({ status: 'Terminated', terminated_at: p('now'), termination_reason: SUPERSEDED_REASON })
    .where('id', '=', p('nodeId'))
    .where('status', '=', ACTIVE),
);

type InstanceUpdate = { id: number; hostname: string; identity: string | null; facts: string; labels: string; now: number };
const updateInstance = (withFacts: boolean) =>
  prepare<InstanceUpdate, never>((db, _engine, p) =>
    db
      .updateTable('instances')
      .set((eb) => ({
        hostname: p('hostname'),
        uuid: eb.fn.coalesce(eb.val(p('identity')), eb.ref('uuid')),
        ...(withFacts ? { facts: p('facts') } : {}),
        labels: p('labels'),
        modified_at: p('now'),
      }))
      .where('id', '=', p('id')),
  );
const updateInstanceAndFacts = updateInstance(true);
// A registration without facts keeps the ones the instance has.
const updateInstanceKeepingFacts = updateInstance(false);

const insertInstance = prepare<Omit<InstanceUpdate, 'id'> & { clusterId: number }, { id: number }>((db, _engine, p) =>
  db
    .insertInto('instances')
    .values({
      cluster_id: p('clusterId'),
      hostname: p('hostname'),
      uuid: p('identity'),
      created_at: p('now'),
      modified_at: p('now'),
      facts: p('facts'),
      labels: p('labels'),
    })
    .returning('id'),
);

type NodeInsert = { id: string; clusterId: number; instanceId: number; name: string | null; bootId: string | null; tokenHash: string; now: number };
const insertNode = prepare<NodeInsert, Record<string, unknown>>((db, _engine, p) =>
  db
    .insertInto('nodes')
    .values({
      id: p('id'),
      cluster_id: p('clusterId'),
      instance_id: p('instanceId'),
      name: p('name'),
      boot_id: p('bootId'),
      token_hash: p('tokenHash'),
      status: 'Active',
      joined_at: p('now'),
      last_heartbeat: p('now'),
    })
    .returningAll(),
);

/**
 * A registration inside one transaction (the caller's), the same on both engines. On PostgreSQL
 * the instance rows and the Active node it reads are locked FOR UPDATE, so two replicas
 * registering the same instance serialize on that row: one supersedes, the other then sees the
 * new Active node. Two replicas creating the same new instance collide on its unique key; the
 * caller retries the transaction. SQLite runs one write transaction at a time.
 */
export async function registerInTransaction(trx: Db, engine: EngineTraits, input: RegisterNodeInput): Promise<RegisterNodeResult> {
  const find = async (query: typeof instanceByUuid, value: string | undefined) =>
    value === undefined ? undefined : (await query.run(trx, engine, { clusterId: input.clusterId, value })).rows[0];
  const byHostname = await find(instanceByHostname, input.hostname);
  const instance = chooseInstance(await find(instanceByUuid, input.identity), byHostname);
  // The agent's instance (found by identity) may not take a hostname another instance holds.
  if (instance && byHostname && byHostname.id !== instance.id) return { outcome: 'hostname-taken', hostname: input.hostname };

  const active = instance ? (await activeNodeOf.run(trx, engine, { instanceId: instance.id })).rows[0] : undefined;
  const decision = decideActiveNode(instance, active, input);
  if (decision.action === 'refuse') return decision.refusal;
  if (decision.action === 'supersede') await supersede.run(trx, engine, { nodeId: decision.nodeId, now: input.now });

  const values = {
    hostname: input.hostname,
    identity: input.identity ?? null,
    facts: JSON.stringify(input.facts ?? {}),
    labels: JSON.stringify(input.labels ?? {}),
    now: input.now,
  };
  let instanceId: number;
  if (instance) {
    instanceId = instance.id;
    const update = values.facts === '{}' ? updateInstanceKeepingFacts : updateInstanceAndFacts;
    await update.run(trx, engine, { ...values, id: instanceId });
  } else {
    const [created] = (await insertInstance.run(trx, engine, { ...values, clusterId: input.clusterId })).rows;
    instanceId = Number(created!.id);
  }
  const { rows } = await insertNode.run(trx, engine, {
    id: input.nodeId,
    clusterId: input.clusterId,
    instanceId,
    name: input.name ?? null,
    bootId: input.bootId ?? null,
    tokenHash: input.tokenHash,
    now: input.now,
  });
  return { outcome: 'registered', node: nodeFromRow(rows[0]!), instanceId, supersededNodeId: decision.action === 'supersede' ? decision.nodeId : null };
}
