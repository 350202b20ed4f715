import { afterEach, describe, expect, it } from 'vitest';
import type { CoordinatorConfig } from '../../../src/coordinator/config.ts';
import { ADMIN, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';

let h: Harness;
afterEach(async () => h.close());

const TIMEOUT = 35_000;
async function fleet(count: number, overrides: Partial<CoordinatorConfig> = {}) {
  h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35, ...overrides });
  const nodes = [];
  for (let index = 0; index < count; index += 1) nodes.push(await h.register({ name: `n${index}`, identity: `id-${index}` }));
  return nodes;
}
const beat = async (nodes: { nodeToken: string }[]) => {
  for (const node of nodes) expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {})).status).toBe(200);
};
const activeCount = async () => (await h.call('cluster_GetDetails', READER, {})).body.nodes.length as number;
const readyz = async () => JSON.parse((await h.coordinator.app.inject({ method: 'GET', url: '/readyz' })).body);

describe('startup grace', () => {
  it('times out nobody for one full timeout after start, then resumes', async () => {
    const [silent, live] = await fleet(2);
    expect((await readyz()).holds.startupGraceUntil).not.toBeNull();
    h.clock.advance(TIMEOUT - 1_000);
    await beat([live!]);
    h.clock.advance(999);
    await h.coordinator.sweeper.sweep();
    expect(await activeCount()).toBe(2);
    h.clock.advance(2_000);
    const result = await h.coordinator.sweeper.sweep();
    expect(result.terminated).toEqual([silent!.nodeId]);
    expect((await readyz()).holds.startupGraceUntil).toBeNull();
    expect(h.logs()).toContain('timeout grace ended');
  });

  it('can be lifted by an admin action', async () => {
    await fleet(1);
    h.clock.advance(TIMEOUT + 1);
    h.coordinator.sweeper.grantGrace('test: a second grace window');
    expect((await h.call('coordinator_LiftSafetyHolds', READER, {})).status).toBe(403);
    expect((await h.call('coordinator_LiftSafetyHolds', ADMIN, {})).body).toEqual({ graceLifted: true, clustersReleased: [], appliedHere: true });
    await h.coordinator.sweeper.sweep();
    expect(await activeCount()).toBe(0);
  });
});

describe('mass-silence guard', () => {
  it('holds the terminations when most of a cluster goes silent at once, and says so', async () => {
    const nodes = await fleet(10);
    h.passGrace();
    await beat(nodes.slice(0, 4));
    h.clock.advance(30_000);
    await beat(nodes.slice(0, 4));
    const result = await h.coordinator.sweeper.sweep();
    expect(result.terminated).toEqual([]);
    expect(result.holds).toEqual([expect.objectContaining({ silent: 6, active: 10 })]);
    expect(await activeCount()).toBe(10);
    const holdUntil = new Date(h.clock.now() + 10 * TIMEOUT).toISOString();
    expect((await readyz()).holds.massSilence).toEqual([{ cluster: 'default', since: new Date(h.clock.now()).toISOString(), until: holdUntil, silent: 6, active: 10 }]);
    expect(h.logs()).toContain('mass-silence guard: holding terminations');
    expect((await h.coordinator.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/nodepulse_safety_holds\{kind="mass_silence"\} 1/);
  });

  it('releases the hold when the silent nodes come back', async () => {
    const nodes = await fleet(4);
    h.passGrace();
    await h.coordinator.sweeper.sweep();
    expect((await h.coordinator.sweeper.sweep()).holds).toHaveLength(1);
    await beat(nodes);
    const result = await h.coordinator.sweeper.sweep();
    expect(result).toMatchObject({ terminated: [], holds: [] });
    expect(await activeCount()).toBe(4);
    expect(h.logs()).toContain('mass-silence guard: hold ended');
  });

  it('lets an operator lift the hold', async () => {
    await fleet(5);
    h.passGrace();
    expect((await h.coordinator.sweeper.sweep()).holds).toHaveLength(1);
    const lifted = await h.call('coordinator_LiftSafetyHolds', ADMIN, {});
    expect(lifted.body.clustersReleased).toEqual(['default']);
    expect((await h.coordinator.sweeper.sweep()).terminated).toHaveLength(5);
  });

  it('gives up holding after the maximum hold duration', async () => {
    await fleet(5, { massSilenceMaxHoldSecs: 120 });
    h.passGrace();
    expect((await h.coordinator.sweeper.sweep()).holds).toHaveLength(1);
    h.clock.advance(119_000);
    expect((await h.coordinator.sweeper.sweep()).terminated).toHaveLength(0);
    h.clock.advance(1_000);
    expect((await h.coordinator.sweeper.sweep()).terminated).toHaveLength(5);
  });

  it('does not guard clusters below the minimum size, nor when switched off', async () => {
    await fleet(2);
    h.passGrace();
    expect((await h.coordinator.sweeper.sweep()).terminated).toHaveLength(2);
    await h.close();
    await fleet(6, { massSilenceGuard: false });
    h.passGrace();
    expect((await h.coordinator.sweeper.sweep()).terminated).toHaveLength(6);
  });

  it('does not hold when only a minority is silent', async () => {
    const nodes = await fleet(10);
    h.passGrace();
    await beat(nodes.slice(0, 6));
    expect((await h.coordinator.sweeper.sweep()).terminated).toHaveLength(4);
  });
});

describe('a sweeper that distrusts itself', () => {
  it('skips terminations on a tick that ran late, and resumes on the next on-time tick', async () => {
    const nodes = await fleet(1, { massSilenceGuard: false });
    h.passGrace();
    await beat(nodes);
    expect((await h.coordinator.sweeper.tick()).terminated).toHaveLength(0);
    // The event loop stalls for 40 s: the node looks silent, but so would any node.
    h.clock.advance(40_000);
    const late = await h.coordinator.sweeper.tick();
    expect(late).toMatchObject({ skipped: 'late-tick', terminated: [] });
    expect(h.logs()).toContain('sweeper tick ran late');
    h.clock.advance(1_000);
    expect((await h.coordinator.sweeper.tick()).terminated).toHaveLength(1);
  });
});
