/**
 * Fault campaign: the store unreachable for two timeouts, then back; no live node may be timed
 * out when it returns (the grace after the outage covers the agents' return).
 *
 * - PostgreSQL (two replicas): the campaign's own server is stopped (`pg_ctl stop`), then started
 *   on the same port and data. Replicas answer writes with 503 meanwhile; heartbeats are answered
 *   from memory.
 * - SQLite: as root, making the file or its directory unwritable changes nothing (root bypasses
 *   permissions, and WAL writes go to files already open), so the outage here is another process
 *   holding the database's write lock (`BEGIN IMMEDIATE`, sqlite-lock-holder.mjs) for two
 *   timeouts, as a stuck operator command or a backup tool would. What really happens: reads go
 *   on (WAL), and every write (the heartbeat flush, a registration, a termination) waits for
 *   busy_timeout (5 s) inside better-sqlite3, blocking the coordinator's event loop, then fails
 *   with SQLITE_BUSY. So the coordinator mostly stalls for the outage, and answers little.
 *
 * During each outage two simulated nodes restart (their deregistration and registration fail
 * and are retried). Asserted: nothing lost, no live node timed out, never two Active nodes for
 * one instance. Three outages in the full run, one here.
 */
import { join } from 'node:path';
import { spawnProcess, waitFor } from '../../helpers/spawn-process.ts';
import { type Campaign, type PhaseSpec, sleep } from '../harness.ts';
import { FULL, TIMEOUT_MS, WATCH_AFTER_FAULT_MS } from '../settings.ts';

const OUTAGES = FULL ? 3 : 1;
const OUTAGE_MS = 2 * TIMEOUT_MS;
const LOCK_HOLDER = join(import.meta.dirname, '..', 'sqlite-lock-holder.mjs');

/** Makes the store unreachable for OUTAGE_MS; resolves when it is back. */
async function outage(campaign: Campaign): Promise<void> {
  if (campaign.storeKind === 'postgres') {
    const server = campaign.pgServer!;
    await server.stop();
    campaign.note('PostgreSQL stopped');
    await campaign.pass(OUTAGE_MS);
    await server.start();
    campaign.note('PostgreSQL started again');
    return;
  }
  const holder = spawnProcess(process.execPath, [LOCK_HOLDER, campaign.store, String(OUTAGE_MS)], { name: `${campaign.name} lock holder` });
  campaign.track(holder);
  await holder.waitForLine(/locked/, 30_000);
  campaign.note('SQLite write lock taken by another process');
  const exit = await holder.waitForExit(OUTAGE_MS + 60_000);
  if (exit.code !== 0) throw new Error(`the lock holder exited ${exit.code}: ${holder.output()}`);
  campaign.note('SQLite write lock released');
}

/** One outage: down for OUTAGE_MS with two nodes restarting meanwhile, back, then watched. */
async function outageTrial(campaign: Campaign): Promise<void> {
  const downAt = Date.now();
  const down = outage(campaign);
  // Agents restarting during the outage: their calls fail and are retried.
  await sleep(OUTAGE_MS / 2);
  const alive = campaign.liveSims();
  const restarted = alive.sort(() => Math.random() - 0.5).slice(0, 2);
  for (const node of restarted) void node.restart(true);
  await down;
  const upAt = Date.now();
  // What the coordinator answered them meanwhile (for the record: 503 StoreUnavailable is the contract).
  const answers = new Map<string, number>();
  for (const attempt of restarted.flatMap((node) => node.attempts)) {
    if (attempt.kind === 'heartbeat' || attempt.startedAt < downAt || attempt.startedAt > upAt) continue;
    const key = `${attempt.kind} ${attempt.outcome === 'network' ? 'no answer' : (attempt.status ?? 200)}`;
    answers.set(key, (answers.get(key) ?? 0) + 1);
  }
  campaign.note(`during the outage the restarted nodes got: ${[...answers].map(([key, count]) => `${key} x${count}`).join(', ') || 'nothing'}`);
  await waitFor(
    async () => {
      const statuses = await Promise.all(
        campaign.servingReplicas().map((replica) => fetch(`${replica.url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((response) => response.status)),
      );
      return statuses.every((status) => status === 200);
    },
    60_000,
    { intervalMs: 250, message: 'every replica ready again' },
  );
  campaign.note('every replica ready again');
  // Watching: the grace, then a whole timeout.
  await campaign.pass(WATCH_AFTER_FAULT_MS);
}

/** The store-outage campaign, as one phase of a world (on PostgreSQL the world needs a server of its own: ownPostgres). */
export const storeOutageCampaign: PhaseSpec = {
  name: 'store outage',
  run: async (campaign) => {
    if (campaign.storeKind === 'postgres' && !campaign.pgServer) throw new Error('the store-outage campaign needs a PostgreSQL server of its own (ownPostgres)');
    for (let index = 0; index < OUTAGES; index++) {
      await waitFor(() => campaign.latestGraceUntil() === null, 120_000, { intervalMs: 250, message: 'no timeout grace in force' });
      await sleep(Math.random() * 2_000);
      await campaign.trial(`outage ${index + 1}`, () => outageTrial(campaign));
    }
  },
};
