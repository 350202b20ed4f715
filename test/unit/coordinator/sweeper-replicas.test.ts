import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { LeaderLock } from '../../../src/coordinator/leadership/leader-lock.ts';
import { ADMIN, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';

/** Two replicas on one store: `sweeping` holds the leader lock, `other` never gets it. */
const lock = (held: boolean): LeaderLock => ({ tryAcquire: async () => held, stillHeld: async () => held, release: async () => {} });

const TIMEOUT_MS = 35_000;
/** A timeout plus the agents' backoff cap (30 s by default). */
const GRACE_MS = TIMEOUT_MS + 30_000;
let replicas: Harness[] = [];
let dir: string;
afterEach(async () => {
  for (const replica of replicas) await replica.close();
  replicas = [];
  rmSync(dir, { recursive: true, force: true });
});

async function twoReplicas(): Promise<{ sweeping: Harness; other: Harness }> {
  dir = mkdtempSync(join(tmpdir(), 'nodepulse-replicas-'));
  const path = join(dir, 'shared.db');
  const sweeping = await startHarness({ heartbeatTimeout: 35 }, path, lock(true));
  const other = await startHarness({ heartbeatTimeout: 35 }, path, lock(false));
  replicas = [sweeping, other];
  return { sweeping, other };
}

/** One leader-election round on each replica: `sweeping` takes over (and its grace starts) now. */
async function elect(): Promise<void> {
  for (const replica of replicas) await replica.coordinator.leadership.runRound();
}

const active = async (replica: Harness) => (await replica.call('cluster_GetDetails', READER, {})).body.nodes.length as number;
const readyz = async (replica: Harness) => JSON.parse((await replica.coordinator.app.inject({ method: 'GET', url: '/readyz' })).body);

it('a clean-up through a replica that does not sweep times out nobody; the sweeping replica does, after its takeover grace', async () => {
  const { sweeping, other } = await twoReplicas();
  await other.register({ name: 'silent', identity: 'silent' });
  for (const replica of replicas) replica.clock.advance(TIMEOUT_MS + 1_000);
  await elect();
  expect((await other.call('cluster_CleanupInactiveNodes', ADMIN, {})).status).toBe(200);
  expect(await active(other)).toBe(1);
  // The sweeping replica's grace runs from its takeover: still nobody.
  expect((await sweeping.coordinator.sweeper.tick()).skipped).toBe('grace');
  sweeping.clock.advance(GRACE_MS);
  expect((await sweeping.call('cluster_CleanupInactiveNodes', ADMIN, {})).status).toBe(200);
  expect(await active(other)).toBe(0);
});

it('a lift of the safety holds through another replica reaches the sweeping replica on its next tick', async () => {
  const { sweeping, other } = await twoReplicas();
  await other.register({ name: 'silent', identity: 'silent' });
  for (const replica of replicas) replica.clock.advance(TIMEOUT_MS + 1_000);
  await elect();
  expect((await readyz(other)).sweeping).toBe(false);
  expect((await readyz(sweeping)).sweeping).toBe(true);
  expect((await readyz(sweeping)).holds.graceUntil).not.toBeNull();

  await sweeping.coordinator.sweeper.tick(); // sees the request counter as it is before the lift
  const lift = await other.call('coordinator_LiftSafetyHolds', ADMIN, {});
  expect(lift.body).toEqual({ graceLifted: false, clustersReleased: [], appliedHere: false });
  sweeping.clock.advance(1_000);
  const result = await sweeping.coordinator.sweeper.tick();
  expect(result.terminated).toHaveLength(1);
  expect((await readyz(sweeping)).holds.graceUntil).toBeNull();
});

it('a lift requested before a replica took over does not cut short its takeover grace', async () => {
  const { sweeping, other } = await twoReplicas();
  await other.call('coordinator_LiftSafetyHolds', ADMIN, {});
  await other.register({ name: 'silent', identity: 'silent' });
  for (const replica of replicas) replica.clock.advance(TIMEOUT_MS + 1_000);
  await elect();
  sweeping.clock.advance(TIMEOUT_MS - 1_000);
  expect((await sweeping.coordinator.sweeper.tick()).skipped).toBe('grace');
  expect(await active(sweeping)).toBe(1);
});
