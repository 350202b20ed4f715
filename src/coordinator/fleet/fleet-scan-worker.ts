/**
 * A worker thread's one scan of the fleet on SQLite: its own read-only connection on the store's
 * file (WAL lets it read beside the coordinator's writer, in one consistent snapshot), so the
 * coordinator's event loop never runs a query over every instance. Posts a FleetSnapshot with
 * its columns transferred, then ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SnapshotBuilder, snapshotBuffers } from './fleet-snapshot.ts';
import { adminFlags, nodeFlags } from './instance-summary.ts';

/** Per instance the inputs of the store's tally (store/instance-tally.ts), ids ascending. */
const SUMMARY_SQL = `
SELECT i.id, i.cluster_id, i.enabled, i.node_type, i.node_state, i.health_status,
  CAST(i.capacity_adjustment AS REAL), i.cpu_capacity, i.mem_capacity, i.jobs_running,
  json_extract(i.labels, '$.region'),
  a.id IS NOT NULL,
  CASE WHEN a.id IS NULL THEN
    (SELECT coalesce(l.termination_reason, '') FROM nodes l WHERE l.instance_id = i.id ORDER BY l.joined_at DESC, l.id DESC LIMIT 1)
  END
FROM instances i LEFT JOIN nodes a ON a.instance_id = i.id AND a.status = 'Active'
ORDER BY i.id`;

type SummaryRow = [number, number, number, string, string, string | null, number, number, number, number, unknown, number, string | null];

const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
try {
  const builder = new SnapshotBuilder();
  for (const row of db.prepare(SUMMARY_SQL).raw().iterate() as IterableIterator<SummaryRow>) {
    const [id, clusterId, enabled, nodeType, nodeState, healthStatus, adjustment, cpu, mem, jobs, region, active, lastReason] = row;
    // No Active node and no node at all: last_reason is NULL; a newest node without a reason: ''.
    const latest = active ? { status: 'Active', terminationReason: null } : lastReason === null ? undefined : { status: 'Terminated', terminationReason: lastReason || null };
    builder.add(id, {
      clusterId,
      flags: adminFlags({ enabled: enabled === 1, nodeType, nodeState, healthStatus: healthStatus as 'critical' | null }) | nodeFlags(latest),
      cpu,
      mem,
      adjustment,
      jobs,
      region: typeof region === 'string' && region !== '' ? region : null,
    });
  }
  const snapshot = builder.build(true);
  parentPort!.postMessage(snapshot, snapshotBuffers(snapshot));
} finally {
  db.close();
}
