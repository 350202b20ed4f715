import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CoordinatorConfig } from '../../../src/coordinator/config.ts';
import { ADMIN, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';

/**
 * The safety rules on a manual clock: the decisions. Heartbeats are spread over the interval as
 * real agents spread them (each node on its own phase), never all at one instant. The same rules
 * with real processes and real timers are in test/chaos/.
 */
let h: Harness;
afterEach(async () => {
  await h.close();
  vi.useRealTimers();
});

const INTERVAL = 10_000;
const TIMEOUT = 35_000;
const GRACE = TIMEOUT + 30_000;

interface SimNode {
  nodeId: string;
  nodeToken: string;
  /** Its heartbeats come at phase + k × interval. */
  phase: number;
  cut: boolean;
  /** When it last heartbeated (coordinator time). */
  lastBeat?: number;
}

async function fleet(count: number, overrides: Partial<CoordinatorConfig> = {}, pageSize?: number): Promise<SimNode[]> {
  h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35, ...overrides }, ':memory:', undefined, pageSize);
  const nodes: SimNode[] = [];
  for (let index = 0; index < count; index += 1) {
    const node = await h.register({ name: `n${index}`, identity: `id-${index}` });
    nodes.push({ ...node, phase: Math.floor((index * INTERVAL) / count), cut: false });
  }
  return nodes;
}
const beat = async (nodes: { nodeToken: string }[]) => {
  for (const node of nodes) expect((await h.call('cluster_ReportNodeHeartbeat', node.nodeToken, {})).status).toBe(200);
};
const activeCount = async () => (await h.call('cluster_GetDetails', READER, {})).body.nodes.length as number;
const readyz = async () => JSON.parse((await h.coordinator.app.inject({ method: 'GET', url: '/readyz' })).body);

/**
 * Runs the fleet for `ms` on the manual clock in steps: every node that is not cut heartbeats on
 * its own phase, and the sweeper sweeps each step (as its ticks and deadline timer would).
 * Returns the sweeps' results in order, with the time of each.
 */
async function run(nodes: SimNode[], ms: number, stepMs = 250) {
  const sweeps = [];
  const end = h.clock.now() + ms;
  while (h.clock.now() < end) {
    const before = h.clock.now();
    h.clock.advance(stepMs);
    const now = h.clock.now();
    const due = nodes.filter((node) => !node.cut && Math.floor((now - node.phase) / INTERVAL) > Math.floor((before - node.phase) / INTERVAL));
    await beat(due);
    for (const node of due) node.lastBeat = now;
    sweeps.push({ at: now, ...(await h.coordinator.sweeper.sweep()) });
  }
  return sweeps;
}
const terminatedIn = (sweeps: { terminated: string[] }[]) => sweeps.flatMap((sweep) => sweep.terminated);

/** Starts the fleet's heartbeats on their phases and lets the startup grace pass. */
async function settle(nodes: SimNode[]) {
  await run(nodes, GRACE + INTERVAL, 1_000);
  expect(await activeCount()).toBe(nodes.length);
}

describe('the timeout grace', () => {
  it('times out nobody for a timeout plus the agents\u2019 backoff cap after start, then resumes', async () => {
    const [silent, live] = await fleet(2);
    const start = h.clock.now();
    expect((await readyz()).holds).toMatchObject({ graceReason: 'startup' });
    while (h.clock.now() < start + GRACE - 5_000) {
      h.clock.advance(5_000);
      await beat([live!]);
      expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([]);
    }
    h.clock.set(start + GRACE - 1);
    expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([]);
    h.clock.set(start + GRACE + 1);
    await beat([live!]);
    expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([silent!.nodeId]);
    expect((await readyz()).holds.graceUntil).toBeNull();
    expect(h.logs()).toContain('timeout grace ended');
  });

  it('hands the agents the backoff cap that the grace is built on', async () => {
    h = await startHarness({ agentRetryMaxDelaySecs: 12 });
    const response = await h.call('cluster_RegisterNode', undefined, {});
    expect(response.status).toBe(401);
    const registered = await h.call('cluster_RegisterNode', ADMIN, { name: 'n' });
    expect(registered.body).toMatchObject({ heartbeatIntervalSecs: 10, retryMaxDelaySecs: 12 });
    expect((await readyz()).holds.graceUntil).toBe(new Date(h.clock.now() + 35_000 + 12_000).toISOString());
  });

  it('can be lifted by an admin action', async () => {
    await fleet(1);
    h.passGrace();
    h.coordinator.holds.grantGrace('test: a second grace window');
    expect((await h.call('coordinator_LiftSafetyHolds', READER, {})).status).toBe(403);
    expect((await h.call('coordinator_LiftSafetyHolds', ADMIN, {})).body).toEqual({ graceLifted: true, clustersReleased: [], appliedHere: true });
    await h.coordinator.sweeper.sweep();
    expect(await activeCount()).toBe(0);
  });
});

describe('a stall of the coordinator', () => {
  /** A started sweeper whose cron schedule never fires: only its stall watch and deadline timers run, on fake timers moved with the clock. */
  async function started(nodes: number) {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fleetNodes = await fleet(nodes, { sweepSchedule: '0 0 0 1 1 *', massSilenceGuard: false });
    h.coordinator.sweeper.start();
    await h.call('coordinator_LiftSafetyHolds', ADMIN, {});
    return fleetNodes;
  }
  const elapse = async (ms: number) => {
    for (let step = 0; step < ms; step += 250) {
      h.clock.advance(250);
      await vi.advanceTimersByTimeAsync(250);
    }
  };

  it('gives every node a full grace after the process was stopped, not just to the first late sweep', async () => {
    const nodes = await started(4);
    await beat(nodes);
    await elapse(5_000);
    // SIGSTOP for 40 s: the clock moves, no timer runs, no heartbeat arrives.
    h.clock.advance(40_000);
    const first = await h.coordinator.sweeper.sweep();
    expect(first).toMatchObject({ skipped: 'grace', terminated: [] });
    expect(h.logs()).toContain('"why":"stall"');
    // The next sweeps a second later, and every sweep until a timeout plus the backoff cap has
    // passed, trust nothing: no heartbeat could arrive during the stall.
    await elapse(1_000);
    expect((await h.coordinator.sweeper.sweep()).terminated).toEqual([]);
    await elapse(GRACE - 2_000);
    expect(await activeCount()).toBe(4);
    expect((await readyz()).holds).toMatchObject({ graceReason: 'stall' });
    await elapse(2_000);
    expect((await h.coordinator.sweeper.sweep()).terminated).toHaveLength(4);
  });

  it('learns of the stall from its own timer when no sweep runs first', async () => {
    const nodes = await started(1);
    await beat(nodes);
    h.clock.advance(10_000);
    await vi.advanceTimersByTimeAsync(250);
    expect((await readyz()).holds).toMatchObject({ graceReason: 'stall' });
    expect((await h.coordinator.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/nodepulse_coordinator_stalls_total 1/);
  });

  it('does not count a pause shorter than the late threshold as a stall', async () => {
    const nodes = await started(1);
    await beat(nodes);
    h.clock.advance(h.config.sweepLateThresholdMs);
    await vi.advanceTimersByTimeAsync(250);
    expect((await readyz()).holds.graceUntil).toBeNull();
  });
});

describe('the mass-silence guard', () => {
  it('holds a network cut of most of a cluster before any cut node is timed out, although the cut nodes expire one by one', async () => {
    const nodes = await fleet(100);
    await settle(nodes);
    for (const node of nodes.slice(0, 60)) node.cut = true;
    const sweeps = await run(nodes, 3 * TIMEOUT);
    expect(terminatedIn(sweeps)).toEqual([]);
    const firstHold = sweeps.find((sweep) => sweep.holds.length > 0);
    expect(firstHold?.holds[0]).toMatchObject({ silent: 60, active: 100, timedOut: 0 });
    expect(await activeCount()).toBe(100);
    const hold = (await readyz()).holds.massSilence[0];
    expect(hold).toMatchObject({ cluster: 'default', silent: 60, active: 100, timedOut: 0 });
    expect(h.logs()).toContain('mass-silence guard: holding terminations');
    expect((await h.coordinator.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/nodepulse_safety_holds\{kind="mass_silence"\} 1/);
  });

  it('while it holds, reads a costly count again only as often as keeps it under a tenth of the loop, and still ends the hold once the nodes are back', async () => {
    const nodes = await fleet(100);
    await settle(nodes);
    for (const node of nodes.slice(0, 60)) node.cut = true;
    const held = await run(nodes, TIMEOUT + INTERVAL);
    expect(held.at(-1)!.holds).toHaveLength(1);
    const countsObserved = async () => {
      const text = (await h.coordinator.app.inject({ method: 'GET', url: '/metrics' })).body;
      const series = (suffix: string) => Number(new RegExp(`^nodepulse_silence_count_duration_seconds_${suffix} (\\S+)$`, 'm').exec(text)![1]);
      return { count: series('count'), sum: series('sum') };
    };
    const before = await countsObserved();
    // From here each count costs 200 ms of the event loop, as ~1M overdue nodes would.
    const count = h.store.silenceByCluster.bind(h.store);
    let counts = 0;
    vi.spyOn(h.store, 'silenceByCluster').mockImplementation(async (...args) => {
      counts += 1;
      const until = performance.now() + 200;
      while (performance.now() < until);
      return count(...args);
    });
    const holding = await run(nodes, 10_000);
    expect(terminatedIn(holding)).toEqual([]);
    expect(holding.every((sweep) => sweep.holds.length === 1)).toBe(true);
    // 40 sweeps; a 200 ms count stands for 2 s of them (longer when a loaded machine makes it
    // measure longer, never more than 10 s): at most 6 counts, and at least one after the first.
    expect(counts).toBeGreaterThanOrEqual(2);
    expect(counts).toBeLessThanOrEqual(6);
    // The metric times each count read, never one reused: one observation per count, each of its 200 ms.
    const after = await countsObserved();
    expect(after.count - before.count).toBe(counts);
    expect(after.sum - before.sum).toBeGreaterThanOrEqual(counts * 0.2);
    for (const node of nodes) node.cut = false;
    // Every node heartbeats within an interval; the last count stands for at most 10 s more.
    const back = await run(nodes, INTERVAL + 10_000 + 2_500);
    expect(back.at(-1)!.holds).toEqual([]);
    expect(terminatedIn(back)).toEqual([]);
    expect(await activeCount()).toBe(100);
  });

  it('times out a cut of a minority on time, node by node as each expires', async () => {
    const nodes = await fleet(100);
    await settle(nodes);
    for (const node of nodes.slice(0, 40)) node.cut = true;
    const sweeps = await run(nodes, TIMEOUT + INTERVAL + 1_000);
    expect(sweeps.every((sweep) => sweep.holds.length === 0)).toBe(true);
    expect(new Set(terminatedIn(sweeps))).toEqual(new Set(nodes.slice(0, 40).map((node) => node.nodeId)));
    // Each within a sweep step of its own deadline (its last heartbeat before the cut + the timeout).
    for (const node of nodes.slice(0, 40)) {
      const sweep = sweeps.find((s) => s.terminated.includes(node.nodeId))!;
      expect(sweep.at - (node.lastBeat! + TIMEOUT)).toBeLessThanOrEqual(250);
    }
  });

  it('times out a minority on time while a batch of heartbeats is still being written: the sweep does not wait for the write', async () => {
    const nodes = await fleet(100);
    await settle(nodes);
    await h.coordinator.heartbeats.flush();
    for (const node of nodes.slice(0, 10)) node.cut = true;
    const write = h.store.writeHeartbeats.bind(h.store);
    const terminated: { nodeId: string; at: number }[] = [];
    const end = h.clock.now() + TIMEOUT + INTERVAL;
    while (h.clock.now() < end) {
      const before = h.clock.now();
      h.clock.advance(250);
      const now = h.clock.now();
      const due = nodes.filter((node) => !node.cut && Math.floor((now - node.phase) / INTERVAL) > Math.floor((before - node.phase) / INTERVAL));
      await beat(due);
      for (const node of due) node.lastBeat = now;
      // The flush timer's batch is under way, as one takes 0.3-1 s at a million nodes.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slowWrite = vi.spyOn(h.store, 'writeHeartbeats').mockImplementation(async (batch) => gate.then(() => write(batch)));
      const flushing = h.coordinator.heartbeats.flush();
      const sweep = await Promise.race([h.coordinator.sweeper.sweep(), new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 5_000))]);
      release();
      await flushing;
      slowWrite.mockRestore();
      expect(sweep).not.toBe('waited');
      if (sweep === 'waited') return;
      expect(sweep.holds).toEqual([]);
      terminated.push(...sweep.terminated.map((nodeId) => ({ nodeId, at: now })));
    }
    expect(new Set(terminated.map((t) => t.nodeId))).toEqual(new Set(nodes.slice(0, 10).map((node) => node.nodeId)));
    for (const { nodeId, at } of terminated) expect(at - (nodes.find((node) => node.nodeId === nodeId)!.lastBeat! + TIMEOUT)).toBeLessThanOrEqual(250);
  });

  it('counts nodes already timed out within a timeout: a cut taken in slices is held once most of the cluster is silent', async () => {
    const nodes = await fleet(100);
    await settle(nodes);
    for (const node of nodes.slice(0, 30)) node.cut = true;
    const first = await run(nodes, TIMEOUT + 1_000);
    expect(terminatedIn(first)).toHaveLength(30);
    for (const node of nodes.slice(30, 55)) node.cut = true;
    const second = await run(nodes, TIMEOUT);
    expect(terminatedIn(second)).toEqual([]);
    // The first slice's time-outs of the last timeout count beside the 25 overdue nodes of the second.
    const hold = second.find((sweep) => sweep.holds.length > 0)!.holds[0]!;
    expect(hold).toMatchObject({ active: 70 });
    expect(hold.timedOut).toBeGreaterThan(20);
    expect(hold.silent).toBe(25 + hold.timedOut);
  });

  it('judges exact counts whatever the page size: held above the threshold, all timed out below it', async () => {
    const nodes = await fleet(100, {}, 7);
    await settle(nodes);
    for (const node of nodes.slice(0, 60)) node.cut = true;
    expect(terminatedIn(await run(nodes, 2 * TIMEOUT))).toEqual([]);
    await h.close();

    const minority = await fleet(100, {}, 7);
    await settle(minority);
    for (const node of minority.slice(0, 45)) node.cut = true;
    const sweeps = await run(minority, 2 * TIMEOUT);
    expect(sweeps.every((sweep) => sweep.holds.length === 0)).toBe(true);
    expect(terminatedIn(sweeps)).toHaveLength(45);
  });

  it('ends the hold when the cut nodes come back, and times out none of them', async () => {
    const nodes = await fleet(10);
    await settle(nodes);
    for (const node of nodes.slice(0, 6)) node.cut = true;
    const held = await run(nodes, TIMEOUT + INTERVAL);
    expect(held.at(-1)?.holds).toHaveLength(1);
    for (const node of nodes) node.cut = false;
    const after = await run(nodes, 2 * INTERVAL);
    expect(terminatedIn(after)).toEqual([]);
    expect(after.at(-1)?.holds).toEqual([]);
    expect(h.logs()).toContain('"why":"nodes-back"');
    expect(await activeCount()).toBe(10);
  });

  it('keeps holding while agents return from their backoff one by one, until every agent had its retry', async () => {
    const nodes = await fleet(10, { agentRetryMaxDelaySecs: 20 });
    await settle(nodes);
    for (const node of nodes.slice(0, 6)) node.cut = true;
    await run(nodes, TIMEOUT + INTERVAL);
    // Two come back: 4 of 10 still silent, under the threshold; the others may be in backoff.
    nodes[0]!.cut = false;
    nodes[1]!.cut = false;
    const returning = await run(nodes, 20_000 + INTERVAL - 1_000);
    expect(terminatedIn(returning)).toEqual([]);
    expect(returning.at(-1)?.holds).toHaveLength(1);
    // Once the backoff cap and an interval passed with the share under the threshold, the rest are really gone.
    const settled = await run(nodes, 2_000);
    expect(new Set(terminatedIn(settled))).toEqual(new Set(nodes.slice(2, 6).map((node) => node.nodeId)));
    expect(h.logs()).toContain('"why":"settled"');
  });

  it('lets an operator lift the hold, then guards again', async () => {
    const nodes = await fleet(10);
    await settle(nodes);
    for (const node of nodes.slice(0, 6)) node.cut = true;
    expect((await run(nodes, TIMEOUT + INTERVAL)).at(-1)?.holds).toHaveLength(1);
    const lifted = await h.call('coordinator_LiftSafetyHolds', ADMIN, {});
    expect(lifted.body.clustersReleased).toEqual(['default']);
    expect(terminatedIn(await run(nodes, 1_000))).toHaveLength(6);
    // The lifted time-outs do not count again: one more silent node is simply timed out.
    nodes[6]!.cut = true;
    const next = await run(nodes, TIMEOUT + INTERVAL);
    expect(terminatedIn(next)).toEqual([nodes[6]!.nodeId]);
  });

  it('gives up holding after the maximum hold duration', async () => {
    const nodes = await fleet(5, { massSilenceMaxHoldSecs: 120 });
    await settle(nodes);
    for (const node of nodes.slice(0, 3)) node.cut = true;
    const sweeps = await run(nodes, TIMEOUT + 120_000 + INTERVAL, 1_000);
    const holdStart = sweeps.find((sweep) => sweep.holds.length > 0)!.at;
    const released = sweeps.find((sweep) => sweep.terminated.length > 0)!;
    expect(released.at - holdStart).toBe(120_000);
    expect(terminatedIn(sweeps)).toHaveLength(3);
    expect(h.logs()).toContain('"why":"hold-expired"');
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
});
