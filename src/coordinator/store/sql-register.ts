import type { EngineTraits } from './engine.ts';
import { SUPERSEDED_REASON, chooseInstance, decideActiveNode } from './plan-registration.ts';
import { nodeFromRow } from './rows.ts';
import type { Db } from './schema.ts';
import type { RegisterNodeInput, RegisterNodeResult } from './store.ts';

/**
 * A registration inside one transaction (the caller's), the same on both engines. On PostgreSQL
 * the instance rows and the Active node it reads are locked FOR UPDATE, so two replicas
 * registering the same instance serialize on that row: one supersedes, the other then sees the
 * new Active node. Two replicas creating the same new instance collide on its unique key; the
 * caller retries the transaction. SQLite runs one write transaction at a time.
 */
export async function registerInTransaction(trx: Db, engine: EngineTraits, input: RegisterNodeInput): Promise<RegisterNodeResult> {
  const find = async (column: 'uuid' | 'hostname', value: string | undefined) =>
    value === undefined
      ? undefined
      : trx
          .selectFrom('instances')
          .select(['id', 'uuid', 'hostname'])
          .where('cluster_id', '=', input.clusterId)
          .where(column, '=', value)
          .$if(engine.locksRows, (query) => query.forUpdate())
          .executeTakeFirst();
  const byHostname = await find('hostname', input.hostname);
  const instance = chooseInstance(await find('uuid', input.identity), byHostname);
  // The agent's instance (found by identity) may not take a hostname another instance holds.
  if (instance && byHostname && byHostname.id !== instance.id) return { outcome: 'hostname-taken', hostname: input.hostname };

  const active = instance
    ? await trx
        .selectFrom('nodes')
        .select(['id as nodeId', 'boot_id as bootId', 'last_heartbeat as lastHeartbeat'])
        .where('instance_id', '=', instance.id)
        .where('status', '=', 'Active')
        .$if(engine.locksRows, (query) => query.forUpdate())
        .executeTakeFirst()
    : undefined;
  const decision = decideActiveNode(instance, active, input);
  if (decision.action === 'refuse') return decision.refusal;
  if (decision.action === 'supersede') {
    await trx
      .updateTable('nodes')
      .set({ status: 'Terminated', terminated_at: input.now, termination_reason: SUPERSEDED_REASON })
      .where('id', '=', decision.nodeId)
      .where('status', '=', 'Active')
      .execute();
  }

  const facts = JSON.stringify(input.facts ?? {});
  const labels = JSON.stringify(input.labels ?? {});
  let instanceId: number;
  if (instance) {
    instanceId = instance.id;
    await trx
      .updateTable('instances')
      // A registration without facts keeps the ones the instance has.
      .set((eb) => ({
        hostname: input.hostname,
        uuid: eb.fn.coalesce(eb.val(input.identity ?? null), eb.ref('uuid')),
        ...(facts === '{}' ? {} : { facts }),
        labels,
        modified_at: input.now,
      }))
      .where('id', '=', instanceId)
      .execute();
  } else {
    const created = await trx
      .insertInto('instances')
      .values({ cluster_id: input.clusterId, hostname: input.hostname, uuid: input.identity ?? null, created_at: input.now, modified_at: input.now, facts, labels })
      .returning('id')
      .executeTakeFirstOrThrow();
    instanceId = created.id;
  }
  const row = await trx
    .insertInto('nodes')
    .values({
      id: input.nodeId,
      cluster_id: input.clusterId,
      instance_id: instanceId,
      name: input.name ?? null,
      boot_id: input.bootId ?? null,
      token_hash: input.tokenHash,
      status: 'Active',
      joined_at: input.now,
      last_heartbeat: input.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { outcome: 'registered', node: nodeFromRow(row), instanceId, supersededNodeId: decision.action === 'supersede' ? decision.nodeId : null };
}
