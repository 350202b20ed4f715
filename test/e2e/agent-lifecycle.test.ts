import { cpus, hostname, totalmem } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, waitFor } from '../helpers/spawn-process.ts';
import {
  FAST,
  instances,
  nodeById,
  nodes,
  refusedRegistrations,
  registeredNodeIds,
  startAgent,
  startedIdentity,
  waitForRegistration,
} from './agent-helpers.ts';

afterEach(cleanupAll);

describe('agent lifecycle against a real coordinator', () => {
  it('registers Active with the host facts, advances lastHeartbeat, and on SIGTERM is Shutdown within 1 s and exits 0', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const { proc } = startAgent(coordinator.url);
    const nodeId = await waitForRegistration(proc);
    expect((await nodeById(coordinator, nodeId))?.status).toBe('Active');

    // On a loaded machine some facts may miss the registration and follow in a heartbeat.
    const instance = await waitFor(async () => {
      const [view] = await instances(coordinator);
      return view && view.memory > 0 && view.cpu_capacity > 0 ? view : undefined;
    }, 30_000, { message: 'the instance shows the host facts' });
    expect(instance).toMatchObject({ hostname: hostname(), memory: totalmem(), cpu_capacity: Math.max(1, Math.floor(cpus().length * 4)) });
    expect(Number(instance?.cpu)).toBe(cpus().length);

    const first = (await nodeById(coordinator, nodeId))!.lastHeartbeat;
    await waitFor(async () => (await nodeById(coordinator, nodeId))!.lastHeartbeat > first, 15_000, { message: 'lastHeartbeat advances' });

    proc.kill('SIGTERM');
    const signalledAt = Date.now();
    await waitFor(async () => (await nodeById(coordinator, nodeId))?.status === 'Terminated', 5_000, { intervalMs: 20 });
    expect(Date.now() - signalledAt).toBeLessThan(1_000);
    expect((await nodeById(coordinator, nodeId))?.terminationReason).toBe('Shutdown');
    expect(await proc.waitForExit(10_000)).toEqual({ code: 0, signal: null });
  });

  it('exits 1 at once on a second signal while the deregistration is still waiting for the coordinator', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const { proc } = startAgent(coordinator.url, { env: { NODEPULSE_DEREGISTER_TIMEOUT: '60' } });
    await waitForRegistration(proc);
    coordinator.proc.kill('SIGSTOP');
    try {
      proc.kill('SIGTERM');
      await proc.waitForLine(/"shutting down"/, 10_000);
      expect(proc.exitStatus()).toBeUndefined();
      proc.kill('SIGINT');
      const signalledAt = Date.now();
      expect(await proc.waitForExit(10_000)).toEqual({ code: 1, signal: null });
      expect(Date.now() - signalledAt).toBeLessThan(5_000);
      expect(proc.output()).toMatch(/second signal: exiting now/);
      expect(proc.output()).not.toMatch(/"deregistered"/);
    } finally {
      coordinator.proc.kill('SIGCONT');
    }
  });

  it('is timed out (HeartbeatTimeout) by the coordinator after kill -9', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const { proc } = startAgent(coordinator.url);
    const nodeId = await waitForRegistration(proc);
    // Let the coordinator's startup grace (one timeout) pass while the agent is alive.
    await waitFor(async () => !(await (await fetch(`${coordinator.url}/readyz`)).json()).holds?.graceUntil, 20_000).catch(() => undefined);
    proc.kill('SIGKILL');
    await proc.waitForExit(10_000);
    const node = await waitFor(async () => {
      const view = await nodeById(coordinator, nodeId);
      return view?.status === 'Terminated' ? view : undefined;
    }, 30_000, { intervalMs: 200, message: 'node timed out' });
    expect(node.terminationReason).toBe('HeartbeatTimeout');
  });

  it('keeps the same instance across an agent restart on the same host (same identity)', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const first = startAgent(coordinator.url);
    const firstNode = await waitForRegistration(first.proc);
    first.proc.kill('SIGTERM');
    expect((await first.proc.waitForExit(10_000)).code).toBe(0);

    const second = startAgent(coordinator.url, { stateDir: first.stateDir });
    const secondNode = await waitForRegistration(second.proc);
    expect(secondNode).not.toBe(firstNode);
    const all = await instances(coordinator);
    expect(all).toHaveLength(1);
    expect((await nodes(coordinator, false)).map((n) => n.nodeId)).toEqual([secondNode]);
    expect(startedIdentity(second.proc)).toBe(startedIdentity(first.proc));
    expect(all[0]?.uuid).toBe(startedIdentity(first.proc));
  });

  it('refuses a second agent with a copied identity and a different boot id, while the first keeps running', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const original = startAgent(coordinator.url, { env: { NODEPULSE_BOOT_ID: 'boot-original' } });
    const nodeId = await waitForRegistration(original.proc);
    const clone = startAgent(coordinator.url, { stateDir: original.stateDir, env: { NODEPULSE_BOOT_ID: 'boot-clone' } });
    const refusal = await clone.proc.waitForLine(/another host with identity .* is still heartbeating/, 30_000);
    expect(JSON.parse(refusal)).toMatchObject({ level: 'error' });
    expect(clone.proc.exitStatus()).toBeUndefined();

    const before = (await nodeById(coordinator, nodeId))!.lastHeartbeat;
    await waitFor(async () => (await nodeById(coordinator, nodeId))!.lastHeartbeat > before, 15_000, { message: 'the original keeps heartbeating' });
    expect((await nodes(coordinator, true)).map((n) => [n.nodeId, n.status])).toEqual([[nodeId, 'Active']]);

    clone.proc.kill('SIGTERM');
    expect((await clone.proc.waitForExit(10_000)).code).toBe(0);
  });

  it('refuses a second agent on the same host (own state directory, same hostname and boot id) while the first keeps one node; it adopts the instance once the first is killed', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const first = startAgent(coordinator.url);
    const firstNode = await waitForRegistration(first.proc);
    const second = startAgent(coordinator.url);
    const refusalLines = () => second.proc.stdoutLines.filter((line) => line.includes('registration refused: another agent'));

    const refusal = await second.proc.waitForLine(/registration refused: another agent \(identity .*\) is registered as hostname/, 30_000);
    expect(JSON.parse(refusal)).toMatchObject({ level: 'error' });
    expect(refusal).toContain(`identity ${startedIdentity(first.proc)}`);
    expect(refusal).toMatch(/--hostname.*state directory/);
    await waitFor(() => refusedRegistrations(second.proc) >= 3, 30_000, { message: 'three refused registrations of the second agent' });
    const before = (await nodeById(coordinator, firstNode))!.lastHeartbeat;
    await waitFor(async () => (await nodeById(coordinator, firstNode))!.lastHeartbeat > before, 15_000, { message: 'the first keeps heartbeating' });
    // One node the whole time: the first never registered again, nothing was superseded (reason Unknown).
    expect(registeredNodeIds(first.proc)).toEqual([firstNode]);
    expect(registeredNodeIds(second.proc)).toEqual([]);
    expect((await nodes(coordinator, true)).map((n) => [n.nodeId, n.status])).toEqual([[firstNode, 'Active']]);
    expect(refusalLines()).toHaveLength(1);

    first.proc.kill('SIGKILL');
    await first.proc.waitForExit(10_000);
    const adopted = await waitForRegistration(second.proc, 1, 60_000);
    const all = await instances(coordinator);
    expect(all).toHaveLength(1);
    expect(all[0]?.uuid).toBe(startedIdentity(second.proc));
    expect((await nodeById(coordinator, firstNode))?.status).toBe('Terminated');
    expect((await nodes(coordinator, false)).map((n) => n.nodeId)).toEqual([adopted]);
    expect(refusalLines()).toHaveLength(1);

    second.proc.kill('SIGTERM');
    expect((await second.proc.waitForExit(10_000)).code).toBe(0);
  });
});
