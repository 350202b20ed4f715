import { SUPERSEDED_REASON, chooseInstance, decideActiveNode } from '../plan-registration.ts';
import { nodeFromRow } from '../rows.ts';
import type { RegisterNodeInput, RegisterNodeResult } from '../store.ts';
import type { Queryable } from './pg-pool.ts';

interface InstanceRow {
  id: number;
  uuid: string | null;
  hostname: string;
}

/**
 * A registration inside one transaction (the caller's). The instance rows it reads are locked
 * FOR UPDATE, so two replicas registering the same instance at once serialize on that row: one
 * supersedes, the other then sees the new Active node. Two replicas creating the same new
 * instance collide on its unique key (23505); the caller retries the transaction.
 */
export async function registerInTransaction(db: Queryable, input: RegisterNodeInput): Promise<RegisterNodeResult> {
  const find = async (column: 'uuid' | 'hostname', value: string | undefined): Promise<InstanceRow | undefined> => {
    if (value === undefined) return undefined;
    const { rows } = await db.query<InstanceRow>(`SELECT id, uuid, hostname FROM instances WHERE cluster_id = $1 AND ${column} = $2 FOR UPDATE`, [
      input.clusterId,
      value,
    ]);
    return rows[0];
  };
  const byHostname = await find('hostname', input.hostname);
  const instance = chooseInstance(await find('uuid', input.identity), byHostname);
  if (instance && byHostname && byHostname.id !== instance.id) return { outcome: 'hostname-taken', hostname: input.hostname };

  const active = instance
    ? (
        await db.query<{ nodeId: string; bootId: string | null; lastHeartbeat: number }>(
          `SELECT id AS "nodeId", boot_id AS "bootId", last_heartbeat AS "lastHeartbeat" FROM nodes
           WHERE instance_id = $1 AND status = 'Active' FOR UPDATE`,
          [instance.id],
        )
      ).rows[0]
    : undefined;
  const decision = decideActiveNode(instance, active, input);
  if (decision.action === 'refuse') return decision.refusal;
  if (decision.action === 'supersede') {
    await db.query(
      "UPDATE nodes SET status = 'Terminated', terminated_at = $1, termination_reason = $2 WHERE id = $3 AND status = 'Active'",
      [input.now, SUPERSEDED_REASON, decision.nodeId],
    );
  }

  const facts = JSON.stringify(input.facts ?? {});
  const labels = JSON.stringify(input.labels ?? {});
  let instanceId: number;
  if (instance) {
    instanceId = instance.id;
    await db.query(
      `UPDATE instances SET hostname = $1, uuid = COALESCE($2, uuid), facts = CASE WHEN $3::text = '{}' THEN facts ELSE $3::text END,
         labels = $4, modified_at = $5 WHERE id = $6`,
      [input.hostname, input.identity ?? null, facts, labels, input.now, instanceId],
    );
  } else {
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO instances (cluster_id, hostname, uuid, created_at, modified_at, facts, labels)
       VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING id`,
      [input.clusterId, input.hostname, input.identity ?? null, input.now, facts, labels],
    );
    instanceId = Number(rows[0]?.id);
  }
  const { rows } = await db.query(
    `INSERT INTO nodes (id, cluster_id, instance_id, name, boot_id, token_hash, status, joined_at, last_heartbeat)
     VALUES ($1, $2, $3, $4, $5, $6, 'Active', $7, $7) RETURNING *`,
    [input.nodeId, input.clusterId, instanceId, input.name ?? null, input.bootId ?? null, input.tokenHash, input.now],
  );
  const node = nodeFromRow(rows[0] as Record<string, unknown>);
  return { outcome: 'registered', node, instanceId, supersededNodeId: decision.action === 'supersede' ? decision.nodeId : null };
}
