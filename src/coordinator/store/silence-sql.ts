import { type Placeholder, forDialects } from './dialect-sql.ts';

/**
 * The mass-silence guard's exact counts, one text per dialect (they differ in placeholders only).
 * Aggregates, never pages: a cluster of any size is judged on all its nodes.
 */
/**
 * Per cluster with an expired node: its Active nodes silent since before the overdue cutoff ($2),
 * and how many of them since before the expiry cutoff ($1 and $3, the same value). A range of the
 * deadline index, so it costs what is silent, not the fleet.
 */
const silence = (p: Placeholder) =>
  `SELECT cluster_id AS "clusterId", CAST(count(*) AS INTEGER) AS overdue,
     CAST(sum(CASE WHEN last_heartbeat < ${p(1)} THEN 1 ELSE 0 END) AS INTEGER) AS expired
   FROM nodes WHERE status = 'Active' AND last_heartbeat < ${p(2)}
   GROUP BY cluster_id HAVING min(last_heartbeat) < ${p(3)}`;

/** A cluster's nodes timed out at or after the start of its window (index nodes_timed_out_by_cluster, migration 7). */
const timedOut = (p: Placeholder) =>
  `SELECT CAST(count(*) AS INTEGER) AS "timedOut" FROM nodes
   WHERE cluster_id = ${p(1)} AND termination_reason = 'HeartbeatTimeout' AND terminated_at >= ${p(2)}`;

/** One cluster's expired Active nodes, oldest first, one page. */
const expiredInCluster = (p: Placeholder) =>
  `SELECT id AS "nodeId", cluster_id AS "clusterId", last_heartbeat AS "lastHeartbeat" FROM nodes
   WHERE status = 'Active' AND last_heartbeat < ${p(1)} AND cluster_id = ${p(2)} ORDER BY last_heartbeat LIMIT ${p(3)}`;

export const SILENCE_BY_CLUSTER_SQL = forDialects(silence);
export const COUNT_TIMED_OUT_SQL = forDialects(timedOut);
export const EXPIRED_IN_CLUSTER_SQL = forDialects(expiredInCluster);
