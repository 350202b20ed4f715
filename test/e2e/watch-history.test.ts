import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { E2E_ADMIN, E2E_ENROLL, type CoordinatorProcess, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, waitFor } from '../helpers/spawn-process.ts';
import { type SseClient, openSse } from '../helpers/sse-client.ts';
import { ChaosProxy } from '../chaos/chaos-proxy.ts';
import { FAST, instances, startAgent, waitForRegistration } from './agent-helpers.ts';
import { api, cli } from './operator-cli-helpers.ts';

const clients: SseClient[] = [];
const proxies: ChaosProxy[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const proxy of proxies.splice(0)) await proxy.close();
  await cleanupAll();
});

async function watch(coordinator: CoordinatorProcess, headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await openSse(`${coordinator.url}/api/v1/watch`, { authorization: `Bearer ${E2E_ADMIN}`, ...headers });
  clients.push(client);
  // The stream is live once its opening comment arrived.
  await waitFor(() => client.comments.length > 0, 10_000, { message: 'the watch stream opening' });
  return client;
}

async function historyOf(coordinator: CoordinatorProcess, hostname: string): Promise<Record<string, any>[]> {
  const instance = (await instances(coordinator)).find((candidate) => candidate.hostname === hostname);
  return instance ? (await api(coordinator, 'GET', `/api/v2/instances/${instance.id}/history/`)).body.results : [];
}

describe('watch stream and history with real processes', () => {
  it('streams the termination of a stopped agent within 1 s of the sweep that decided it, and its return with a verdict', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const client = await watch(coordinator);
    const { proc } = startAgent(coordinator.url, { args: ['--hostname', 'stopped-host'] });
    const nodeId = await waitForRegistration(proc);
    await client.waitForEvent((event) => event.event === 'node-registered' && event.data.node_id === nodeId, 10_000, 'the registration event');
    proc.kill('SIGSTOP');
    let terminated;
    try {
      // The sweeper runs every second and at each deadline; the startup grace (6 s) comes first.
      terminated = await client.waitForEvent((event) => event.event === 'node-terminated' && event.data.node_id === nodeId, 40_000, 'the termination event');
    } finally {
      proc.kill('SIGCONT');
    }
    const receivedAt = Date.now();
    expect(terminated.data).toMatchObject({ reason: 'HeartbeatTimeout', evidence: { decided_by: expect.any(String), deadline: expect.any(String) } });
    // The sweep logs its terminations once they are committed, right after telling the watch feed:
    // from there to this client is the stream's own delay (recorded_at is when the sweep began judging).
    const swept = await coordinator.proc.waitForLine(new RegExp(`"timed out silent nodes".*${nodeId}`), 5_000);
    const sweptAt = Date.parse((JSON.parse(swept) as { timestamp: string }).timestamp);
    process.stderr.write(`watch: termination received ${receivedAt - sweptAt} ms after the sweep, ${receivedAt - Date.parse(terminated.data.recorded_at)} ms after it began\n`);
    expect(receivedAt - sweptAt).toBeLessThan(1000);

    const back = await client.waitForEvent((event) => event.event === 'node-registered' && event.data.node_id !== nodeId, 30_000, 'the agent registering again');
    // The same agent process, not a reboot nor a restart: paused, with no failed attempt (or, on a
    // machine so loaded that its first heartbeats after SIGCONT timed out, cut off by them).
    expect(back.data.verdict).toMatchObject({ previous_node_id: nodeId });
    if (back.data.verdict.outcome === 'unknown') expect(back.data.verdict.why).toContain('paused');
    else expect(back.data.verdict.outcome).toBe('cut-off');
  });

  it('says "cut-off", with the agent\u2019s first and last failed attempts, for a host whose network was cut past its timeout', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const network = await ChaosProxy.start('host network', [coordinator.port]);
    proxies.push(network);
    const client = await watch(coordinator);
    const { proc } = startAgent(network.url, { args: ['--hostname', 'cut-host', '--request-timeout', '1'] });
    const nodeId = await waitForRegistration(proc);
    // A black hole: the agent's requests time out, as across a real partition, and it keeps running.
    network.cut();
    const cutAt = Date.now();
    const terminated = await client.waitForEvent((event) => event.event === 'node-terminated' && event.data.node_id === nodeId, 40_000, 'the termination');
    expect(terminated.data.reason).toBe('HeartbeatTimeout');
    network.restore();
    const back = await client.waitForEvent((event) => event.event === 'node-registered' && event.data.node_id !== nodeId, 40_000, 'the agent registering again');
    const attempts = back.data.verdict.failed_attempts;
    expect(back.data.verdict).toMatchObject({ outcome: 'cut-off', previous_node_id: nodeId });
    expect(attempts.count).toBeGreaterThanOrEqual(2);
    expect(Date.parse(attempts.first_at)).toBeGreaterThanOrEqual(cutAt - 1_000);
    expect(Date.parse(attempts.last_at)).toBeGreaterThan(Date.parse(attempts.first_at));
    expect(attempts.first_error).toMatch(/time/i);
    // The same verdict in the host's history, newest first.
    const history = await historyOf(coordinator, 'cut-host');
    expect(history[0]).toMatchObject({ kind: 'node-registered', verdict: { outcome: 'cut-off' } });
  });

  it('resumes a watch from Last-Event-ID with exactly the events it missed', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const first = await watch(coordinator);
    const register = async (hostname: string) => (await coordinator.post('cluster_RegisterNode', E2E_ENROLL, { hostname })).body as { nodeId: string; nodeToken: string };
    const a = await register('resume-a');
    await first.waitForEvent((event) => event.data?.node_id === a.nodeId);
    const lastSeen = first.events.at(-1)!.id!;
    first.close();
    const b = await register('resume-b');
    await coordinator.post('cluster_DeregisterNode', a.nodeToken, {});
    const resumed = await watch(coordinator, { 'last-event-id': lastSeen });
    await resumed.waitForEvent((event) => event.event === 'node-terminated', 10_000, 'the missed deregistration');
    const c = await register('resume-c');
    await resumed.waitForEvent((event) => event.data?.node_id === c.nodeId, 10_000, 'a live event after the missed ones');
    expect(resumed.events.map((event) => [event.event, event.data.node_id])).toEqual([
      ['node-registered', b.nodeId],
      ['node-terminated', a.nodeId],
      ['node-registered', c.nodeId],
    ]);
    expect(resumed.events.every((event) => Number(event.id) > Number(lastSeen))).toBe(true);
  });

  it('shows "agent-restarted" and then "rebooted" in the history API and the CLI after the agent is killed and started again', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const agentOptions = (bootId: string, stateDir?: string) => ({ args: ['--hostname', 'restarted-host'], env: { NODEPULSE_BOOT_ID: bootId }, ...(stateDir ? { stateDir } : {}) });
    const first = startAgent(coordinator.url, agentOptions('boot-1'));
    await waitForRegistration(first.proc);
    const timedOut = async (count: number) =>
      waitFor(async () => (await historyOf(coordinator, 'restarted-host')).filter((entry) => entry.reason === 'HeartbeatTimeout').length === count, 40_000, {
        intervalMs: 250,
        message: `timeout number ${count}`,
      });
    first.proc.kill('SIGKILL');
    await timedOut(1);
    const second = startAgent(coordinator.url, agentOptions('boot-1', first.stateDir));
    await waitForRegistration(second.proc);
    const [restarted] = await historyOf(coordinator, 'restarted-host');
    expect(restarted).toMatchObject({ kind: 'node-registered', verdict: { outcome: 'agent-restarted' }, evidence: { boot_id: 'boot-1', agent_version: expect.any(String) } });

    second.proc.kill('SIGKILL');
    await timedOut(2);
    const third = startAgent(coordinator.url, agentOptions('boot-2', first.stateDir));
    await waitForRegistration(third.proc);
    const [rebooted] = await historyOf(coordinator, 'restarted-host');
    expect(rebooted).toMatchObject({ verdict: { outcome: 'rebooted', booted_at: expect.any(String) }, evidence: { boot_id: 'boot-2' } });

    const printed = JSON.parse(await cli(coordinator, ['instances', 'history', 'restarted-host', '--json']));
    expect(printed.map((entry: { verdict?: { outcome: string } }) => entry.verdict?.outcome).filter(Boolean)).toEqual(['rebooted', 'agent-restarted']);
    const table = await cli(coordinator, ['instances', 'history', 'restarted-host', '--limit', '2']);
    expect(table).toContain('verdict rebooted');
  });

  it('deletes transitions and Terminated nodes older than historyRetentionDays at start, keeping the newest node', async () => {
    const first = await startCoordinatorProcess({ args: FAST });
    for (let round = 0; round < 2; round++) {
      const node = (await first.post('cluster_RegisterNode', E2E_ENROLL, { name: 'old-host', hostname: 'old-host', identity: 'old-identity' })).body as { nodeToken: string };
      await first.post('cluster_DeregisterNode', node.nodeToken, {});
    }
    const recent = (await first.post('cluster_RegisterNode', E2E_ENROLL, { hostname: 'recent-host' })).body as { nodeId: string };
    first.proc.kill('SIGTERM');
    await first.proc.waitForExit(10_000);
    // Forty days pass for old-host.
    const db = new Database(first.storePath);
    const fortyDays = 40 * 86_400_000;
    db.prepare("UPDATE node_transitions SET recorded_at = recorded_at - ? WHERE json_extract(evidence, '$.hostname') = 'old-host' OR node_id IN (SELECT id FROM nodes WHERE instance_id = (SELECT id FROM instances WHERE hostname = 'old-host'))").run(fortyDays);
    db.prepare("UPDATE nodes SET joined_at = joined_at - ?, last_heartbeat = last_heartbeat - ?, terminated_at = terminated_at - ? WHERE instance_id = (SELECT id FROM instances WHERE hostname = 'old-host')").run(fortyDays, fortyDays, fortyDays);
    db.close();

    const second = await startCoordinatorProcess({ storePath: first.storePath, args: FAST });
    await waitFor(async () => (await historyOf(second, 'old-host')).length === 0, 20_000, { intervalMs: 250, message: 'the old history deleted' });
    const { nodes } = (await second.post('cluster_GetDetails', E2E_ADMIN, { includeTerminated: true })).body as { nodes: { nodeId: string; name?: string; status: string }[] };
    expect(nodes.filter((node) => node.name === 'old-host').map((node) => node.status)).toEqual(['Terminated']);
    expect((await historyOf(second, 'recent-host')).map((entry) => entry.node_id)).toEqual([recent.nodeId]);
    expect(second.proc.output()).toContain('history retention: deleted old transitions and Terminated nodes');
  });
});
