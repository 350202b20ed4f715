import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN, E2E_ENROLL, type CoordinatorProcess, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { type TestDatabase, createTestDatabase } from '../helpers/postgres.ts';
import { SimulatedAgent } from '../helpers/simulated-agent.ts';
import { cleanupAll, waitFor } from '../helpers/spawn-process.ts';

const TIMEOUT_SECS = 5;
/** Starting processes and waiting out grace periods on a loaded machine takes a while. */
const TEST_TIMEOUT_MS = 150_000;
const TIMING = ['--heartbeat-interval', '1', '--heartbeat-timeout', String(TIMEOUT_SECS), '--agent-retry-max-delay-secs', '2'];
/** The takeover bound this test holds the replicas to (docs/postgres.md states it). */
const TAKEOVER_BOUND_MS = 10_000;

interface Node {
  nodeId: string;
  status: string;
  lastHeartbeat: string;
  terminationReason?: string;
}

let database: TestDatabase;
const agents: SimulatedAgent[] = [];

beforeAll(async () => {
  database = await createTestDatabase('replicas');
});
afterAll(async () => database?.drop());
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.stop();
  await cleanupAll();
});

async function register(replica: CoordinatorProcess, name: string): Promise<{ nodeId: string; nodeToken: string }> {
  const response = await replica.post('cluster_RegisterNode', E2E_ENROLL, { name, hostname: name, identity: `id-${name}` });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

async function details(replica: CoordinatorProcess): Promise<Map<string, Node>> {
  const response = await replica.post('cluster_GetDetails', E2E_ADMIN, { includeTerminated: true });
  expect(response.status).toBe(200);
  return new Map((response.body.nodes as Node[]).map((node) => [node.nodeId, node]));
}

describe('two coordinator replicas on one PostgreSQL database', () => {
  it('hands sweeping over within seconds of a kill -9, times out nobody falsely and still times out a silent node', async () => {
    const first = await startCoordinatorProcess({ storePath: database.url, args: TIMING });
    await first.proc.waitForLine(/leadership gained/, 30_000);
    const second = await startCoordinatorProcess({ storePath: database.url, args: TIMING });
    let alive = [first.url, second.url];

    // Agents registered through both replicas, heartbeating through both in turn.
    for (let index = 0; index < 6; index++) {
      const node = await register(index % 2 === 0 ? first : second, `live-${index}`);
      const agent = new SimulatedAgent(node.nodeId, node.nodeToken, () => alive);
      agents.push(agent);
      agent.start();
    }
    // Both replicas see every node, whichever replica registered it.
    await waitFor(async () => (await details(second)).size === 6 && (await details(first)).size === 6, 10_000);
    expect(second.proc.output()).not.toMatch(/leadership gained/);
    // Heartbeats written by one replica show on the other (at most one flush late).
    await waitFor(async () => agents.every((agent) => agent.heartbeats >= 3), 20_000, { message: 'agents heartbeating' });

    const silent = await register(second, 'silent');
    const killedAt = Date.now();
    first.proc.kill('SIGKILL');
    alive = [second.url];
    await second.proc.waitForLine(/leadership gained/, TAKEOVER_BOUND_MS + 5_000);
    const takeoverMs = Date.now() - killedAt;
    process.stderr.write(`replica takeover after kill -9: ${takeoverMs} ms\n`);
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);
    // The survivor's grace runs from the takeover: the handover is not the nodes' fault.
    await second.proc.waitForLine(/timeout grace started.*"why":"takeover"/, 5_000);

    // The silent node is still timed out, by the survivor, once the takeover grace is over.
    await waitFor(async () => (await details(second)).get(silent.nodeId)?.terminationReason === 'HeartbeatTimeout', 40_000, {
      intervalMs: 250,
      message: 'the silent node timed out by the survivor',
    });
    // Keep the fleet heartbeating through one more full timeout after the sweeper resumed.
    const resumedAt = Date.now();
    await waitFor(() => Date.now() - resumedAt > (TIMEOUT_SECS + 1) * 1000, 20_000, { intervalMs: 200 });

    const nodes = await details(second);
    for (const agent of agents) expect(nodes.get(agent.nodeId), agent.nodeId).toMatchObject({ status: 'Active' });
    expect([...nodes.values()].filter((node) => node.terminationReason === 'HeartbeatTimeout').map((node) => node.nodeId)).toEqual([silent.nodeId]);
    expect(agents.flatMap((agent) => agent.failures)).toEqual([]);
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
  }, TEST_TIMEOUT_MS);

  it('runs each scheduled sweep on one replica only', async () => {
    const first = await startCoordinatorProcess({ storePath: database.url, args: TIMING });
    const second = await startCoordinatorProcess({ storePath: database.url, args: TIMING });
    await waitFor(() => [first, second].some((replica) => /leadership gained/.test(replica.proc.output())), 30_000);
    const leaders = [first, second].filter((replica) => /leadership gained/.test(replica.proc.output()));
    expect(leaders).toHaveLength(1);
    const leaderGauge = async (replica: CoordinatorProcess) => (await (await fetch(`${replica.url}/metrics`)).text()).match(/^nodepulse_sweeper_leader (\d)/m)?.[1];
    expect(await Promise.all([first, second].map(leaderGauge))).toEqual([first, second].map((replica) => (replica === leaders[0] ? '1' : '0')));
    // A graceful stop releases the lock at once: the other replica leads.
    const [leader] = leaders;
    const follower = leader === first ? second : first;
    leader!.proc.kill('SIGTERM');
    await follower.proc.waitForLine(/leadership gained/, TAKEOVER_BOUND_MS);
  }, TEST_TIMEOUT_MS);

  it('shows on each replica the newest heartbeat any replica wrote, and records the monitor events on the sweeping replica only', async () => {
    const monitorEverySecond = { NODEPULSE_MONITOR_SCHEDULE: '* * * * * *' };
    const first = await startCoordinatorProcess({ storePath: database.url, args: TIMING, env: monitorEverySecond });
    await first.proc.waitForLine(/leadership gained/, 30_000);
    const second = await startCoordinatorProcess({ storePath: database.url, args: TIMING, env: monitorEverySecond });
    const node = await register(first, 'beats-through-second');

    // One heartbeat through the second replica only: the first shows it once the second flushed it.
    expect((await second.post('cluster_ReportNodeHeartbeat', node.nodeToken)).status).toBe(200);
    const lastHeartbeat = async (replica: CoordinatorProcess) => (await details(replica)).get(node.nodeId)?.lastHeartbeat;
    const viaSecond = await lastHeartbeat(second);
    expect(viaSecond).toBeDefined();
    await waitFor(async () => (await lastHeartbeat(first)) === viaSecond, 10_000, { intervalMs: 100, message: 'the first replica shows the heartbeat the second received' });

    // Several monitor checks on both replicas: every event comes from the sweeping replica.
    const get = async (replica: CoordinatorProcess, path: string) => {
      const response = await fetch(`${replica.url}/v0/cluster/${path}`, { headers: { authorization: `Bearer ${E2E_ADMIN}` } });
      expect(response.status).toBe(200);
      return response.json();
    };
    const events = async (replica: CoordinatorProcess) => {
      const list = (await get(replica, 'events')) as { id: string }[];
      return Promise.all(list.map(({ id }) => get(replica, `events/${id}?selector=all`) as Promise<{ id: string; api_resources_info: string }>));
    };
    const checksFrom = Date.now();
    await waitFor(() => Date.now() - checksFrom > 4_000, 10_000, { intervalMs: 200 });
    const recorded = await events(second);
    expect(recorded.length).toBeGreaterThan(0);
    // (Replicas of the earlier tests on this database count until their presence expires.)
    expect(recorded.map((event) => event.api_resources_info)).toEqual(recorded.map(() => expect.stringMatching(/^this replica leads the sweeper; \d+ replica\(s\) serving$/)));
    // The first replica lists the same events (one store), newest first: a check may have
    // recorded another one since the second was asked.
    const listedByFirst = await events(first);
    expect(listedByFirst.slice(listedByFirst.length - recorded.length).map((event) => event.id)).toEqual(recorded.map((event) => event.id));
    expect(listedByFirst.map((event) => event.api_resources_info)).toEqual(listedByFirst.map(() => expect.stringMatching(/^this replica leads the sweeper; \d+ replica\(s\) serving$/)));
  }, TEST_TIMEOUT_MS);
});
