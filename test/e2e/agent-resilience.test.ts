import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/coordinator/store/open-store.ts';
import type { NodeFacts } from '../../src/shared/protocol.ts';
import { E2E_ADMIN, E2E_ENROLL, type CoordinatorProcess, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, freePort, makeTempDir, waitFor } from '../helpers/spawn-process.ts';
import { FAST, instances, nodeById, nodes, registeredNodeIds, startAgent, waitForRegistration } from './agent-helpers.ts';

afterEach(cleanupAll);

/** The facts the coordinator stored for the (only) instance, read from its store: the instance API does not show `unknown`. */
async function storedFacts(coordinator: CoordinatorProcess): Promise<NodeFacts | undefined> {
  const [view] = await instances(coordinator);
  if (!view) return undefined;
  const store = await openStore(coordinator.storePath, { poolSize: 1 });
  try {
    return (await store.getInstance(view.id as number))?.facts;
  } finally {
    await store.close();
  }
}

function beatTimes(lines: string[]): number[] {
  return lines.filter((l) => l.includes('"heartbeat accepted"')).map((l) => Date.parse((JSON.parse(l) as { timestamp: string }).timestamp));
}

describe('agent resilience', () => {
  it('keeps retrying while the coordinator is down at start, logs that once, and registers once it is up', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { proc } = startAgent(url);
    await proc.waitForLine(/coordinator unreachable/, 30_000);
    // Several more attempts fail while we wait; they must not be logged again.
    await waitFor(() => proc.lines.filter((l) => l.includes('"request failed"')).length >= 5, 30_000, { message: 'retries' });
    const coordinator = await startCoordinatorProcess({ port, args: FAST });
    const nodeId = await waitForRegistration(proc);
    expect((await nodeById(coordinator, nodeId))?.status).toBe('Active');
    expect(proc.lines.filter((l) => l.includes('coordinator unreachable'))).toHaveLength(1);
    expect(proc.exitStatus()).toBeUndefined();
  });

  it('resumes heartbeats on the same node after a coordinator restart, with no false timeout', async () => {
    const first = await startCoordinatorProcess({ args: FAST });
    const { proc } = startAgent(first.url);
    const nodeId = await waitForRegistration(proc);
    first.proc.kill('SIGTERM');
    await first.proc.waitForExit(15_000);
    const second = await startCoordinatorProcess({ port: first.port, storePath: first.storePath, args: FAST });
    const before = (await nodeById(second, nodeId))!.lastHeartbeat;
    await waitFor(async () => (await nodeById(second, nodeId))!.lastHeartbeat > before, 20_000, { message: 'heartbeats resume' });
    // Well past one heartbeat timeout (4 s) later, the node is still the same Active node.
    const until = Date.now() + 6_000;
    await waitFor(() => Date.now() > until, 10_000, { intervalMs: 500 });
    expect(await nodes(second, true)).toEqual([expect.objectContaining({ nodeId, status: 'Active' })]);
    expect(registeredNodeIds(proc)).toEqual([nodeId]);
  });

  it('registers again by itself after the coordinator timed the node out', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const { proc } = startAgent(coordinator.url);
    const nodeId = await waitForRegistration(proc);
    proc.kill('SIGSTOP');
    try {
      await coordinator.post('cluster_CleanupInactiveNodes', E2E_ADMIN, {});
      await waitFor(
        async () => {
          await coordinator.post('cluster_CleanupInactiveNodes', E2E_ADMIN, {});
          return (await nodeById(coordinator, nodeId))?.status === 'Terminated';
        },
        40_000,
        { intervalMs: 500, message: 'the stopped agent is timed out' },
      );
    } finally {
      proc.kill('SIGCONT');
    }
    expect((await nodeById(coordinator, nodeId))?.terminationReason).toBe('HeartbeatTimeout');
    const newNode = await waitForRegistration(proc, 2);
    expect(newNode).not.toBe(nodeId);
    expect((await nodeById(coordinator, newNode))?.status).toBe('Active');
    expect(await instances(coordinator)).toHaveLength(1);
  });

  it('registers again by itself when a coordinator with a fresh store has forgotten the node', async () => {
    const first = await startCoordinatorProcess({ args: FAST });
    const { proc } = startAgent(first.url);
    const nodeId = await waitForRegistration(proc);
    first.proc.kill('SIGKILL');
    await first.proc.waitForExit(10_000);
    const fresh = await startCoordinatorProcess({ port: first.port, args: FAST });
    const newNode = await waitForRegistration(proc, 2);
    expect(newNode).not.toBe(nodeId);
    expect((await nodes(fresh, true)).map((n) => [n.nodeId, n.status])).toEqual([[newNode, 'Active']]);
  });

  it('sends heartbeats on time while collectors hang, reporting those figures as unknown', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    // The collector timeout (8 s) outlasts the 5 s the agent waits for first facts: it registers first.
    const { proc } = startAgent(coordinator.url, {
      env: { NODEPULSE_FAULT_HANG_COLLECTOR: 'cpu,disks,os,load', NODEPULSE_COLLECTOR_TIMEOUT: '8' },
    });
    await waitForRegistration(proc, 1, 20_000);
    expect(proc.output()).toMatch(/registering before every fact is collected/);
    const hungFigures = ['os', 'disks', 'load'].map((figure) => ({ figure, reason: `${figure} timed out after 8000 ms` }));
    const facts = await waitFor(async () => {
      const stored = await storedFacts(coordinator);
      return hungFigures.every((hung) => stored?.unknown?.some((u) => u.figure === hung.figure)) ? stored : undefined;
    }, 45_000, { message: 'the coordinator stores the hung figures as unknown' });
    expect(facts.unknown).toEqual(expect.arrayContaining(hungFigures));
    // Unknown, never 0. The cpu count still comes from a cgroup limit where there is one.
    expect(facts.os).toBeUndefined();
    expect(facts.disks).toBeUndefined();
    if (facts.cpu) expect(facts.cpu.source).toBe('cgroup');
    else expect(facts.unknown).toContainEqual({ figure: 'cpu', reason: 'cpu timed out after 8000 ms' });
    expect(facts.memory?.totalBytes).toBeGreaterThan(0);
    await waitFor(() => beatTimes(proc.stdoutLines).length >= 12, 30_000, { message: 'twelve heartbeats' });
    const times = beatTimes(proc.stdoutLines);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.max(...gaps)).toBeLessThan(2_500);
  });

  it('logs one clear error for a wrong enrollment token, retries slowly, and registers once the token file is fixed', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const tokenFile = join(makeTempDir(), 'agent.token');
    const wrong = 'np_wrongtokenid_0123456789abcdef';
    writeFileSync(tokenFile, `${wrong}\n`);
    // The token file wins over the NODEPULSE_ENROLL_TOKEN the helper also sets.
    const { proc } = startAgent(coordinator.url, { args: ['--token-file', tokenFile] });
    const refused = (l: string) => l.includes('"action":"cluster_RegisterNode"') && l.includes('"status":401');
    await waitFor(() => proc.stdoutLines.filter(refused).length >= 3, 30_000, { message: 'three refused registrations' });
    const errors = proc.stdoutLines.filter((l) => l.includes('registration refused'));
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({ level: 'error', state: 'unauthorized' });
    expect(errors[0]).toContain(`token file ${tokenFile}`);
    // Slowly: between half and all of authRetryDelay (2 s here), not the 0.1-1 s network backoff.
    const at = proc.stdoutLines.filter(refused).map((l) => Date.parse((JSON.parse(l) as { timestamp: string }).timestamp));
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(900);

    writeFileSync(tokenFile, `${E2E_ENROLL}\n`);
    const nodeId = await waitForRegistration(proc, 1, 15_000);
    expect((await nodeById(coordinator, nodeId))?.status).toBe('Active');
    expect(proc.output()).not.toContain(wrong);
    expect(proc.output()).not.toContain(E2E_ENROLL);
  });

  it('runs its checks when an admin requests a health check and the instance shows the failure', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const dir = makeTempDir();
    const configFile = join(dir, 'agent.yaml');
    writeFileSync(
      configFile,
      ['checks:', '  - name: broken-service', '    type: command', "    command: ['sh', '-c', 'echo service is down; exit 2']", '    interval: 3600', ''].join('\n'),
    );
    const { proc } = startAgent(coordinator.url, { args: ['--config', configFile] });
    await waitForRegistration(proc);
    // The first report (from the start-up run) has gone out; the request below asks for a new one.
    await waitFor(() => proc.stdoutLines.some((l) => l.includes('"heartbeat accepted"') && l.includes('"health":"critical"')), 15_000);
    const [instance] = await instances(coordinator);
    const response = await fetch(`${coordinator.url}/api/v2/instances/${instance!.id}/health_check/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${E2E_ADMIN}` },
    });
    expect(response.status).toBe(200);
    await proc.waitForLine(/health check requested by the coordinator/, 15_000);
    const checked = await waitFor(async () => {
      const [view] = await instances(coordinator);
      return view?.last_health_check && view.errors ? view : undefined;
    }, 15_000, { message: 'last_health_check and errors set' });
    expect(checked.errors).toMatch(/service is down/);
    expect(checked.node_state).toBe('unavailable');
    expect((await nodes(coordinator, false))[0]?.status).toBe('Active');
  });
});
