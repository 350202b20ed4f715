import { type RawBuilder, sql } from 'kysely';
import type { EngineTraits } from './engine.ts';

/**
 * Per-cluster counts of instances and the fleet's capacity, computed by the store in one
 * aggregate query, so the cluster monitor and the clusters API never load the fleet into memory.
 * The definitions follow design.md and must agree with the instance views (instance-view.ts);
 * the store contract tests check that they do.
 */
export interface InstanceTally {
  clusterId: number;
  instances: number;
  /** With an Active node. */
  running: number;
  /** With an Active node and enabled. */
  runningEnabled: number;
  /** Enabled, and running or its last node timed out: the nodes that ought to be Active. */
  expected: number;
  /** No Active node, and the newest node ended by HeartbeatTimeout. */
  timedOut: number;
  /** Running with a critical health check. */
  failing: number;
  disabled: number;
  /** Never registered, and an admin set node_state provision-fail. */
  failedToInstall: number;
  /** Sum of AWX capacity (see capacityOf in instance-view.ts). */
  capacity: number;
  /** Sum of the agents' jobs running, over running instances. */
  consumed: number;
}

/** One instance as the tally counts it: its own columns, and whether it runs or how its newest node ended. */
export interface InstanceSummaryRow {
  id: number;
  clusterId: number;
  enabled: number;
  nodeType: string;
  nodeState: string;
  healthStatus: string | null;
  /** capacity_adjustment as a number. */
  adjustment: number;
  cpu: number;
  mem: number;
  jobs: number;
  /** The agent's `region` label, NULL without one. */
  region: string | null;
  /** 1 with an Active node. */
  running: number;
  /** Without an Active node: the newest node's termination reason ('' when it has none), NULL when it never had a node. */
  lastReason: string | null;
}

/**
 * Every instance matching `filter` (a condition on `i`) as the tally counts it, in id order. The
 * newest node of an instance is only looked up when it has no Active node. The tally below and
 * the coordinator's fleet counts (fleet/) both read this one definition.
 */
export function instanceSummaryQuery(engine: EngineTraits, filter: RawBuilder<unknown>): RawBuilder<InstanceSummaryRow> {
  return sql<InstanceSummaryRow>`
  SELECT i.id, i.cluster_id AS "clusterId", i.enabled, i.node_type AS "nodeType", i.node_state AS "nodeState", i.health_status AS "healthStatus",
    ${engine.asReal('i.capacity_adjustment')} AS adjustment, i.cpu_capacity AS cpu, i.mem_capacity AS mem, i.jobs_running AS jobs,
    ${engine.jsonText('i.labels', 'region')} AS region,
    CASE WHEN a.id IS NULL THEN 0 ELSE 1 END AS running,
    CASE WHEN a.id IS NULL THEN
      (SELECT coalesce(l.termination_reason, '') FROM nodes l WHERE l.instance_id = i.id ORDER BY l.joined_at DESC, l.id DESC LIMIT 1)
    END AS "lastReason"
  FROM instances i LEFT JOIN nodes a ON a.instance_id = i.id AND a.status = 'Active'
  WHERE ${filter}
  ORDER BY i.id`;
}

/** The tally of the instances matching `filter` (a condition on `i`), per cluster. */
export function instanceTallyQuery(engine: EngineTraits, filter: RawBuilder<unknown>): RawBuilder<Record<string, unknown>> {
  const count = (condition: RawBuilder<unknown>) => sql`sum(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;
  return sql<Record<string, unknown>>`
WITH t AS (${instanceSummaryQuery(engine, filter)})
SELECT "clusterId",
  count(*) AS instances,
  ${count(sql`running = 1`)} AS running,
  ${count(sql`running = 1 AND enabled = 1`)} AS "runningEnabled",
  ${count(sql`enabled = 1 AND (running = 1 OR "lastReason" = 'HeartbeatTimeout')`)} AS expected,
  ${count(sql`"lastReason" = 'HeartbeatTimeout'`)} AS "timedOut",
  ${count(sql`running = 1 AND "healthStatus" = 'critical'`)} AS failing,
  ${count(sql`enabled = 0`)} AS disabled,
  ${count(sql`running = 0 AND "lastReason" IS NULL AND "nodeState" = 'provision-fail'`)} AS "failedToInstall",
  coalesce(sum(CASE WHEN running = 1 AND "nodeType" <> 'hop' AND coalesce("healthStatus", '') <> 'critical' THEN
    floor(CASE WHEN cpu <= mem THEN cpu + (mem - cpu) * adjustment ELSE mem + (cpu - mem) * adjustment END)
  ELSE 0 END), 0) AS capacity,
  coalesce(sum(CASE WHEN running = 1 THEN jobs ELSE 0 END), 0) AS consumed
FROM t GROUP BY "clusterId" ORDER BY "clusterId"`;
}

/** Every `region` label the agents of the instances matching `filter` report, once per cluster. */
export function regionLabelsQuery(engine: EngineTraits, filter: RawBuilder<unknown>): RawBuilder<Record<string, unknown>> {
  const region = engine.jsonText('i.labels', 'region');
  return sql<Record<string, unknown>>`SELECT DISTINCT i.cluster_id AS "clusterId", ${region} AS region FROM instances i
    WHERE ${filter} AND ${region} IS NOT NULL AND ${region} <> ''`;
}

/** Numbers as the drivers return them (PostgreSQL's bigint sums arrive as strings). */
export function tallyFromRow(row: Record<string, unknown>): InstanceTally {
  const n = (key: keyof InstanceTally) => Number(row[key] ?? 0);
  return {
    clusterId: n('clusterId'),
    instances: n('instances'),
    running: n('running'),
    runningEnabled: n('runningEnabled'),
    expected: n('expected'),
    timedOut: n('timedOut'),
    failing: n('failing'),
    disabled: n('disabled'),
    failedToInstall: n('failedToInstall'),
    capacity: n('capacity'),
    consumed: n('consumed'),
  };
}

/** The rows of regionLabelsSql, grouped by cluster. */
export function regionsByCluster(rows: readonly Record<string, unknown>[]): Map<number, string[]> {
  const regions = new Map<number, string[]>();
  for (const row of rows) {
    const clusterId = Number(row.clusterId);
    regions.set(clusterId, [...(regions.get(clusterId) ?? []), String(row.region)]);
  }
  return regions;
}

/** Tallies of parts of the fleet added up per cluster, by cluster id. */
export function sumByCluster(parts: readonly InstanceTally[]): InstanceTally[] {
  const totals = new Map<number, InstanceTally>();
  for (const part of parts) {
    const total = totals.get(part.clusterId);
    if (!total) {
      totals.set(part.clusterId, { ...part });
      continue;
    }
    for (const key of Object.keys(part) as (keyof InstanceTally)[]) if (key !== 'clusterId') total[key] += part[key];
  }
  return [...totals.values()].sort((a, b) => a.clusterId - b.clusterId);
}
