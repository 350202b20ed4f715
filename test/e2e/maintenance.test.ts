import { afterEach, describe, expect, it } from 'vitest';
import { E2E_ENROLL, type CoordinatorProcess, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { SimulatedAgent } from '../helpers/simulated-agent.ts';
import { cleanupAll, waitFor } from '../helpers/spawn-process.ts';
import { type SseClient, openSse } from '../helpers/sse-client.ts';
import { FAST, instances, startAgent, waitForRegistration } from './agent-helpers.ts';
import { api, cli, runNodepulse } from './operator-cli-helpers.ts';
import { E2E_ADMIN } from '../helpers/coordinator-process.ts';

/**
 * Maintenance windows and per-cluster timeouts with real processes and real timers: a coordinator
 * child process, real agents (killed to fall silent) and simulated ones, the watch stream and the
 * cluster monitor as an operator reads them.
 */
const clients: SseClient[] = [];
const simulated: SimulatedAgent[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const agent of simulated.splice(0)) agent.stop();
  await cleanupAll();
});

async function watch(coordinator: CoordinatorProcess): Promise<SseClient> {
  const client = await openSse(`${coordinator.url}/api/v1/watch`, { authorization: `Bearer ${E2E_ADMIN}` });
  clients.push(client);
  await waitFor(() => client.comments.length > 0, 10_000, { message: 'the watch stream opening' });
  return client;
}

/** A node of a cluster as cluster_GetDetails shows it. */
async function nodeOf(coordinator: CoordinatorProcess, cluster: string, nodeId: string): Promise<{ status: string } | undefined> {
  const { body } = await coordinator.post('cluster_GetDetails', E2E_ADMIN, { includeTerminated: true, cluster });
  return (body.nodes as { nodeId: string; status: string }[]).find((node) => node.nodeId === nodeId);
}

async function instanceId(coordinator: CoordinatorProcess, hostname: string): Promise<number> {
  const found = await waitFor(async () => (await instances(coordinator)).find((instance) => instance.hostname === hostname), 10_000, { message: hostname });
  return Number(found.id);
}

/** A node heartbeating over HTTP every 500 ms, as a live host of the cluster. */
async function liveNode(coordinator: CoordinatorProcess, hostname: string): Promise<SimulatedAgent> {
  const { body } = await coordinator.post('cluster_RegisterNode', E2E_ENROLL, { hostname });
  const agent = new SimulatedAgent(body.nodeId, body.nodeToken, () => [coordinator.url], 500);
  simulated.push(agent);
  agent.start();
  return agent;
}

describe('maintenance and per-cluster timeouts with real processes', () => {
  it('times out a host in maintenance that falls silent, marks it expected in the watch stream, and keeps the monitor Healthy', async () => {
    const coordinator = await startCoordinatorProcess({ args: [...FAST, '--monitor-schedule', '* * * * * *', '--monitor-keepalive-secs', '10'] });
    const client = await watch(coordinator);
    const live = await liveNode(coordinator, 'live-host');
    const { proc } = startAgent(coordinator.url, { args: ['--hostname', 'planned-host'] });
    const nodeId = await waitForRegistration(proc);
    await waitFor(async () => (await api(coordinator, 'GET', '/v0/cluster_healthz')).status === 200, 60_000, { intervalMs: 250, message: 'a healthy monitor' });

    // The operator's command: PATCH /api/v2/instances/{id}/ with the window.
    const printed = JSON.parse(await cli(coordinator, ['instances', 'maintenance', 'planned-host', '--for', '1h', '--reason', 'rack move', '--json']));
    expect(printed).toMatchObject({ hostname: 'planned-host', maintenance: true, maintenance_reason: 'rack move' });
    const until = printed.maintenance_until as string;
    expect(Date.parse(until) - Date.now()).toBeGreaterThan(3_000_000);
    await client.waitForEvent((event) => event.event === 'maintenance-changed' && event.data.reason === 'started', 10_000, 'the maintenance-changed event');

    proc.kill('SIGKILL');
    const terminated = await client.waitForEvent((event) => event.event === 'node-terminated' && event.data.node_id === nodeId, 40_000, 'the termination');
    expect(terminated.data).toMatchObject({ reason: 'HeartbeatTimeout', evidence: { maintenance: { until, reason: 'rack move' } } });
    const table = await cli(coordinator, ['instances', 'history', 'planned-host', '--limit', '3']);
    expect(table).toContain(`expected: maintenance until ${until} (rack move)`);

    // The monitor checks every second; a keepalive (10 s) after the termination shows what it judged.
    const terminatedAt = Date.parse(terminated.data.recorded_at);
    const latest = await waitFor(
      async () => {
        const { body } = await api(coordinator, 'GET', '/v0/cluster/events/latest?selector=all');
        return Date.parse(body.recorded_at) > terminatedAt + 1_000 ? body : undefined;
      },
      30_000,
      { intervalMs: 500, message: 'a monitor event after the termination' },
    );
    // The runner (the fleet) is what a silent host could make Unhealthy; the other two components
    // judge the coordinator itself (a loaded machine may slow its store), so only the runner is asserted.
    expect(latest).toMatchObject({ runner_status: 'Healthy' });
    expect(latest.runner_self_info).toContain('1 of 1 expected nodes Active');
    expect(latest.runner_self_info).toContain('1 instances in maintenance');
    const runnerChanges = () => client.events.filter((event) => event.event === 'monitor-status-changed' && event.data.evidence.runner_status !== event.data.evidence.previous.runner_status);
    expect(runnerChanges().filter((event) => Number(event.id) > Number(terminated.id))).toEqual([]);

    // A host that falls silent without maintenance is a failure: the monitor turns Unhealthy, and the stream says so.
    live.stop();
    const change = await client.waitForEvent(
      (event) => event.event === 'monitor-status-changed' && event.data.evidence.runner_status === 'Unhealthy',
      40_000,
      'the monitor turning Unhealthy',
    );
    expect(change.data).toMatchObject({ cluster_id: 0, instance_id: null, node_id: null, reason: 'Unhealthy', evidence: { all_healthy: false, previous: { runner_status: 'Healthy' } } });
  }, 180_000);

  it('times out each cluster’s silent node on its own timeout and hands each cluster’s agents its interval', async () => {
    const coordinator = await startCoordinatorProcess({ args: [...FAST, '--clusters', JSON.stringify({ edge: { heartbeatInterval: 2, heartbeatTimeout: 12 } })] });
    const created = await runNodepulse(['token', 'create', '--role', 'enroll', '--cluster', 'edge', '--store', coordinator.storePath, '--json']);
    expect(created.exit.code).toBe(0);
    const edgeToken = (JSON.parse(created.stdout) as { token: string }).token;
    const rack = startAgent(coordinator.url, { args: ['--hostname', 'rack-host'] });
    // The agent's enrollment token variable (both spellings: the older one is still read).
    const device = startAgent(coordinator.url, { args: ['--hostname', 'device-host'], env: { NODEPULSE_ENROLL_TOKEN: edgeToken, NODEPULSE_TOKEN: edgeToken } });
    const rackNode = await waitForRegistration(rack.proc);
    const deviceNode = await waitForRegistration(device.proc);
    const intervalOf = (lines: string[]) => JSON.parse(lines.find((line) => line.includes('"registered"'))!).heartbeatIntervalSecs;
    expect(intervalOf(rack.proc.stdoutLines)).toBe(1);
    expect(intervalOf(device.proc.stdoutLines)).toBe(2);

    rack.proc.kill('SIGKILL');
    device.proc.kill('SIGKILL');
    // The rack's node goes on its 4 s timeout; the device, silent as long, is still Active then (12 s).
    await waitFor(async () => (await nodeOf(coordinator, 'default', rackNode))?.status === 'Terminated', 30_000, { intervalMs: 100, message: 'the rack node timed out' });
    expect((await nodeOf(coordinator, 'edge', deviceNode))?.status).toBe('Active');
    await waitFor(async () => (await nodeOf(coordinator, 'edge', deviceNode))?.status === 'Terminated', 40_000, { intervalMs: 250, message: 'the device node timed out' });

    // Each termination's deadline is its last heartbeat plus its own cluster's timeout.
    const timeoutOf = async (hostname: string) => {
      const { body } = await api(coordinator, 'GET', `/api/v2/instances/${await instanceId(coordinator, hostname)}/history/`);
      const entry = body.results.find((result: { kind: string }) => result.kind === 'node-terminated');
      return Date.parse(entry.evidence.deadline) - Date.parse(entry.evidence.last_heartbeat);
    };
    expect(await timeoutOf('rack-host')).toBe(4_000);
    expect(await timeoutOf('device-host')).toBe(12_000);
  }, 180_000);
});
