/**
 * Fault campaign at the store level: the mass-silence guard on a cluster of 120,000 nodes, where
 * a cut node set is larger than one page of expired nodes. The real Sweeper runs against the real
 * store (SQLite file, PostgreSQL database) on a manual clock; the fleet is written in bulk, its
 * heartbeats spread over the interval as agents spread them.
 *
 * Asserted: a 60% cut is held before any cut node is timed out, at the default page size and at a
 * small one; a 45% cut is timed out whole, page by page, never held; no live node is timed out.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CoordinatorConfigSchema, resolveTimeouts } from '../../src/coordinator/config.ts';
import type { Store } from '../../src/coordinator/store/store.ts';
import { SafetyHolds } from '../../src/coordinator/sweeper/safety-holds.ts';
import { Sweeper } from '../../src/coordinator/sweeper/sweeper.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { loadConfig } from '../../src/shared/config-loader.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { STORES } from '../contract/stores.ts';
import { reportRow, storeLabel } from './results.ts';
import { FULL } from './settings.ts';

const FLEET = 120_000;
const INTERVAL_MS = 10_000;
const settings = resolveTimeouts(loadConfig(CoordinatorConfigSchema, { flags: { heartbeatInterval: 10, heartbeatTimeout: 35 } }));
const TIMEOUT_MS = settings.timeoutMs;
/** The moment of the cut: every node's last heartbeat lies within the interval before it. */
const CUT_AT = 10_000_000;

/** Rows n = 1..FLEET, for bulk inserts: SQLite and PostgreSQL both take a recursive CTE. */
const series = (limit: string) => `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${limit})`;

/** Node n is cut when n mod 20 falls under the cut share: spread over the whole fleet. */
const cutPredicate = (column: string, cutShare: number) => `(${column} % 20) < ${Math.round(cutShare * 20)}`;

/**
 * Writes the fleet: instance and node n heartbeated last at CUT_AT − (n × 7919 mod interval), so
 * phases are spread over the interval. The cut nodes stay silent from then on; the live ones
 * heartbeated again just now, spread the same way.
 */
async function writeFleet(store: Store, clusterId: number, cutShare: number, now: number): Promise<void> {
  const cutSql = cutPredicate('n', cutShare);
  const phase = `((n * 7919) % ${INTERVAL_MS})`;
  const statements = [
    `${series(String(FLEET))} INSERT INTO instances (cluster_id, hostname, uuid, created_at, modified_at)
       SELECT ${clusterId}, 'host-' || n, 'uuid-' || n, 0, 0 FROM seq`,
    `${series(String(FLEET))} INSERT INTO nodes (id, cluster_id, instance_id, token_hash, status, joined_at, last_heartbeat)
       SELECT 'node-' || n, ${clusterId}, n, 'hash', 'Active', 0,
         CASE WHEN ${cutSql} THEN ${CUT_AT} - ${phase} ELSE ${now} - ${phase} END FROM seq`,
  ];
  for (const sql of statements) await execute(store, sql);
}

async function execute(store: Store, sql: string): Promise<void> {
  const raw = store as unknown as { db?: { exec(sql: string): void }; pool?: { query(sql: string): Promise<unknown> } };
  if (raw.db) raw.db.exec(sql);
  else await raw.pool!.query(sql);
}

function sweeperOn(store: Store, clock: ManualClock, pageSize?: number): Sweeper {
  const logger = createLogger({ level: 'error', component: 'coordinator', pretty: false, stream: new PassThrough() });
  return new Sweeper({
    store,
    clock,
    settings,
    logger,
    schedule: '* * * * * *',
    holds: new SafetyHolds(settings, clock, logger),
    // The fleet is written straight to the store: no heartbeat waits in memory.
    heartbeats: { flush: async () => undefined, newestHeartbeat: (node) => node.lastHeartbeat },
    onTerminated: () => undefined,
    ...(pageSize ? { pageSize } : {}),
  });
}

const isCut = (nodeId: string, cutShare: number) => Number(nodeId.slice('node-'.length)) % 20 < Math.round(cutShare * 20);

interface Scenario {
  name: string;
  cutShare: number;
  pageSize?: number;
}

/**
 * When the sweeper runs: a held cut is judged at the first expiry, a second later, and once every
 * cut node is past its deadline; a timed-out cut every second until all of it is gone.
 */
function sweepTimes(scenario: Scenario, firstExpiry: number): number[] {
  const allExpired = CUT_AT + TIMEOUT_MS + 1;
  if (scenario.cutShare > settings.massSilence.threshold) return [firstExpiry, firstExpiry + 1_000, allExpired, allExpired + 5_000];
  const times = [];
  for (let at = firstExpiry; at <= allExpired + 8_000; at += 1_000) times.push(at);
  return times;
}

/** Runs one scenario on a fresh store; returns the wrongly timed-out nodes and the longest detection delay. */
async function runScenario(impl: (typeof STORES)[number], scenario: Scenario) {
  const { store, dispose } = await impl.open(`guard-${scenario.name}`);
  try {
    const cluster = await store.ensureCluster('default', 0);
    // The first cut node (phase 9,999 ms before the cut) expires a moment after this.
    const firstExpiry = CUT_AT - (INTERVAL_MS - 1) + TIMEOUT_MS + 1;
    const clock = new ManualClock(firstExpiry);
    await writeFleet(store, cluster.id, scenario.cutShare, firstExpiry);
    const sweeper = sweeperOn(store, clock, scenario.pageSize);
    const terminated: { nodeId: string; at: number }[] = [];
    const holds: number[] = [];
    for (const at of sweepTimes(scenario, firstExpiry)) {
      clock.set(at);
      // The live nodes heartbeated within the last interval, on their phases, as the coordinator's flush writes them.
      await execute(store, `UPDATE nodes SET last_heartbeat = ${at} - ((instance_id * 7919) % ${INTERVAL_MS})
        WHERE status = 'Active' AND NOT ${cutPredicate('instance_id', scenario.cutShare)}`);
      const result = await sweeper.sweep();
      holds.push(result.holds.length);
      for (const nodeId of result.terminated) terminated.push({ nodeId, at });
    }
    const held = scenario.cutShare > settings.massSilence.threshold;
    const live = terminated.filter(({ nodeId }) => !isCut(nodeId, scenario.cutShare));
    const wrongly = held ? terminated : live;
    const delays = terminated.map(({ nodeId, at }) => at - (CUT_AT - ((Number(nodeId.slice(5)) * 7919) % INTERVAL_MS) + TIMEOUT_MS));
    return { wrongly: wrongly.length, terminated: terminated.length, held: holds.every((count) => count === 1), neverHeld: holds.every((count) => count === 0), maxDelay: delays.length > 0 ? Math.max(...delays) : null };
  } finally {
    await dispose();
  }
}

/** The short size (npm test) keeps the small page, where paging could hide a cut, and the cut that must go. */
const SCENARIOS: Scenario[] = [
  ...(FULL ? [{ name: '60pct', cutShare: 0.6 }] : []),
  { name: '60pct-page-1000', cutShare: 0.6, pageSize: 1_000 },
  { name: '45pct-page-10000', cutShare: 0.45, pageSize: 10_000 },
];

describe('fault campaign: the mass-silence guard at 120,000 nodes', () => {
  for (const impl of STORES) {
    it(`${impl.name}: holds a 60% cut whatever the page size, times out a 45% cut whole`, async () => {
      const started = Date.now();
      const outcomes = [];
      for (const scenario of SCENARIOS) outcomes.push({ scenario, ...(await runScenario(impl, scenario)) });
      const wrongly = outcomes.reduce((sum, outcome) => sum + outcome.wrongly, 0);
      const delays = outcomes.flatMap((outcome) => (outcome.maxDelay === null ? [] : [outcome.maxDelay]));
      reportRow({
        campaign: 'guard 120k',
        store: storeLabel(impl.name),
        trials: outcomes.length,
        wronglyTimedOut: wrongly,
        recordsLost: 0,
        doubleActive: 0,
        maxDetectionMs: delays.length > 0 ? Math.max(...delays) : null,
        durationSecs: Math.round((Date.now() - started) / 1000),
        outcome: wrongly === 0 ? 'PASS' : `FAIL: ${wrongly} nodes timed out wrongly`,
      });
      const minority = outcomes.at(-1);
      for (const held of outcomes.slice(0, -1)) expect(held).toMatchObject({ terminated: 0, held: true });
      expect(minority).toMatchObject({ wrongly: 0, terminated: 0.45 * FLEET, neverHeld: true });
      // A page of 10,000 a sweep: the last of 54,000 go within six sweeps of their deadline.
      expect(minority!.maxDelay).toBeLessThanOrEqual(6_000);
    }, 300_000);
  }
});
