import type { TerminationReason } from '../../shared/protocol.ts';
import type { EngineTraits } from './engine.ts';
import { type PreviousNode, outageVerdict } from './outage-verdict.ts';
import { type RegistrationRefusal, SUPERSEDED_REASON, chooseInstance, decideActiveNode } from './plan-registration.ts';
import { prepare } from './prepared-query.ts';
import { nodeFromRow } from './rows.ts';
import { ACTIVE, type Db } from './schema.ts';
import { appendTransitions } from './sql-history.ts';
import type { RegisterNodeInput, RegisterNodeResult } from './store.ts';
import type { NewTransition } from './transitions.ts';

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

type NodeEvidence = { nodeId: string; bootId: string | null; agentProcess: string | null; lastHeartbeat: number };
const NODE_EVIDENCE = ['id as nodeId', 'boot_id as bootId', 'agent_process as agentProcess', 'last_heartbeat as lastHeartbeat'] as const;
const activeNodeOf = prepare<{ instanceId: number }, NodeEvidence>((db, engine, p) =>
  db
    .selectFrom('nodes')
    .select(NODE_EVIDENCE)
    .where('instance_id', '=', p('instanceId'))
    .where('status', '=', ACTIVE)
    .$if(engine.locksRows, (query) => query.forUpdate()),
);
/** The instance's newest node (index nodes_by_instance), for the outage verdict when none is Active. */
const newestNodeOf = prepare<{ instanceId: number }, NodeEvidence & { reason: string | null }>((db, _engine, p) =>
  db
    .selectFrom('nodes')
    .select([...NODE_EVIDENCE, 'termination_reason as reason'])
    .where('instance_id', '=', p('instanceId'))
    .orderBy('joined_at', 'desc')
    .limit(1),
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

type NodeInsert = {
  id: string;
  clusterId: number;
  instanceId: number;
  name: string | null;
  bootId: string | null;
  agentProcess: string | null;
  tokenHash: string;
  now: number;
};
const insertNode = prepare<NodeInsert, Record<string, unknown>>((db, _engine, p) =>
  db
    .insertInto('nodes')
    .values({
      id: p('id'),
      cluster_id: p('clusterId'),
      instance_id: p('instanceId'),
      name: p('name'),
      boot_id: p('bootId'),
      agent_process: p('agentProcess'),
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
  if (decision.action === 'refuse') {
    await appendTransitions(trx, engine, [refusalTransition(input, instance!.id, decision.refusal)]);
    return decision.refusal;
  }
  if (decision.action === 'supersede') await supersede.run(trx, engine, { nodeId: decision.nodeId, now: input.now });
  const previous = decision.action === 'supersede' ? { ...active!, endedBy: 'superseded' as const } : instance && (await newestNode(trx, engine, instance.id));

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
    agentProcess: input.agent?.processId ?? null,
    tokenHash: input.tokenHash,
    now: input.now,
  });
  const supersededNodeId = decision.action === 'supersede' ? decision.nodeId : null;
  await appendTransitions(trx, engine, registrationTransitions(input, instanceId, active, supersededNodeId, previous ?? undefined));
  return { outcome: 'registered', node: nodeFromRow(rows[0]!), instanceId, supersededNodeId };
}

async function newestNode(trx: Db, engine: EngineTraits, instanceId: number): Promise<PreviousNode | undefined> {
  const [row] = (await newestNodeOf.run(trx, engine, { instanceId })).rows;
  return row && { ...row, lastHeartbeat: Number(row.lastHeartbeat), endedBy: row.reason as TerminationReason | null };
}

/** The superseded node's end (when there is one), then the registration with its evidence and the outage verdict. */
function registrationTransitions(
  input: RegisterNodeInput,
  instanceId: number,
  active: NodeEvidence | undefined,
  supersededNodeId: string | null,
  previous: PreviousNode | undefined,
): NewTransition[] {
  const at = { recordedAt: input.now, clusterId: input.clusterId, instanceId };
  const transitions: NewTransition[] = [];
  if (supersededNodeId !== null) {
    transitions.push({
      ...at,
      kind: 'node-terminated',
      nodeId: supersededNodeId,
      reason: SUPERSEDED_REASON,
      evidence: { lastHeartbeat: Number(active!.lastHeartbeat), supersededBy: input.nodeId, decidedBy: input.replica },
    });
  }
  transitions.push({
    ...at,
    kind: 'node-registered',
    nodeId: input.nodeId,
    reason: null,
    evidence: {
      hostname: input.hostname,
      identity: input.identity,
      bootId: input.bootId,
      agentVersion: input.facts?.agentVersion,
      address: input.address,
      agent: input.agent,
      supersededNodeId: supersededNodeId ?? undefined,
      verdict: outageVerdict(previous, input),
    },
  });
  return transitions;
}

function refusalTransition(input: RegisterNodeInput, instanceId: number, refusal: RegistrationRefusal): NewTransition {
  return {
    recordedAt: input.now,
    clusterId: input.clusterId,
    instanceId,
    nodeId: null,
    kind: 'registration-refused',
    reason: refusal.outcome === 'duplicate' ? 'DuplicateIdentity' : 'HostnameInUse',
    evidence: {
      hostname: input.hostname,
      identity: input.identity,
      bootId: input.bootId,
      address: input.address,
      activeNodeId: refusal.activeNodeId,
      lastHeartbeat: Number(refusal.lastHeartbeat),
      otherIdentity: refusal.outcome === 'hostname-in-use' ? refusal.otherIdentity : undefined,
    },
  };
}
