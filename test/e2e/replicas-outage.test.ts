import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN, E2E_ENROLL, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { type PostgresServer, startPostgresServer } from '../helpers/postgres.ts';
import { SimulatedAgent } from '../helpers/simulated-agent.ts';
import { cleanupAll, freePort, spawnNodepulse, waitFor } from '../helpers/spawn-process.ts';

/**
 * A database outage longer than the heartbeat timeout. This suite stops and starts a server of
 * its own (always a throwaway embedded one, even with TEST_DATABASE_URL: it must be stoppable).
 */
const TIMEOUT_SECS = 5;
/** Starting processes and waiting out grace periods on a loaded machine takes a while. */
const TEST_TIMEOUT_MS = 150_000;
const TIMING = ['--heartbeat-interval', '1', '--heartbeat-timeout', String(TIMEOUT_SECS), '--agent-retry-max-delay-secs', '2'];

let server: PostgresServer;
const agents: SimulatedAgent[] = [];

beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => server?.remove());
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.stop();
  await cleanupAll();
});

interface Node {
  nodeId: string;
  status: string;
  terminationReason?: string;
}

describe('a PostgreSQL outage', () => {
  it('answers 503 while the database is down, recovers by itself and times out nobody because of the outage', async () => {
    const first = await startCoordinatorProcess({ storePath: server.url, args: TIMING });
    const second = await startCoordinatorProcess({ storePath: server.url, args: TIMING });
    const replicas = [first, second];
    for (let index = 0; index < 4; index++) {
      const response = await replicas[index % 2]!.post('cluster_RegisterNode', E2E_ENROLL, { name: `n${index}`, hostname: `n${index}` });
      expect(response.status).toBe(200);
      const agent = new SimulatedAgent(response.body.nodeId, response.body.nodeToken, () => [first.url, second.url]);
      agents.push(agent);
      agent.start();
    }
    const silent = (await first.post('cluster_RegisterNode', E2E_ENROLL, { name: 'silent', hostname: 'silent' })).body as { nodeId: string };
    await waitFor(() => agents.every((agent) => agent.heartbeats >= 2), 20_000, { message: 'agents heartbeating' });

    await server.stop();
    const downAt = Date.now();
    for (const replica of replicas) {
      await waitFor(async () => (await fetch(`${replica.url}/readyz`)).status === 503, 15_000, { message: '/readyz failing during the outage' });
      const write = await replica.post('cluster_RegisterNode', E2E_ENROLL, { name: 'during-outage' });
      expect(write.status).toBe(503);
      expect(write.body).toEqual({ error_code: 'StoreUnavailable', message: expect.any(String), details: expect.any(Object) });
    }
    // Down for longer than the heartbeat timeout.
    await waitFor(() => Date.now() - downAt > (TIMEOUT_SECS + 2) * 1000, 30_000, { intervalMs: 200 });
    await server.start();

    for (const replica of replicas) {
      await waitFor(async () => (await fetch(`${replica.url}/readyz`)).status === 200, 30_000, { message: '/readyz recovered' });
      expect(replica.proc.exitStatus()).toBeUndefined();
    }
    await waitFor(() => replicas.some((replica) => /timeout grace started.*"why":"(store outage|takeover)"/.test(replica.proc.output())), 15_000);

    // The sweeper works again: the silent node is timed out once the grace is over...
    const details = async () =>
      new Map(((await second.post('cluster_GetDetails', E2E_ADMIN, { includeTerminated: true })).body.nodes as Node[]).map((node) => [node.nodeId, node]));
    await waitFor(async () => (await details()).get(silent.nodeId)?.terminationReason === 'HeartbeatTimeout', 40_000, {
      intervalMs: 250,
      message: 'the silent node timed out after the outage',
    });
    // ...and the heartbeating fleet is untouched.
    const nodes = await details();
    for (const agent of agents) expect(nodes.get(agent.nodeId), agent.nodeId).toMatchObject({ status: 'Active' });
    expect([...nodes.values()].filter((node) => node.terminationReason === 'HeartbeatTimeout').map((node) => node.nodeId)).toEqual([silent.nodeId]);
    expect(agents.flatMap((agent) => agent.failures).filter((answer) => answer.status !== 503)).toEqual([]);
    // Writes work again.
    expect((await first.post('cluster_RegisterNode', E2E_ENROLL, { name: 'after-outage' })).status).toBe(200);
  }, TEST_TIMEOUT_MS);

  it('starts a replica while the database is down: it waits, then serves once the database is back', async () => {
    await server.stop();
    const port = await freePort();
    const proc = spawnNodepulse(['coordinator', 'serve', '--port', String(port), '--store', server.url, ...TIMING], {
      env: { NODEPULSE_ADMIN_TOKEN: E2E_ADMIN, NODEPULSE_ENROLL_TOKEN: E2E_ENROLL },
    });
    await proc.waitForLine(/store unreachable at start; retrying/, 45_000);
    await server.start();
    await proc.waitForLine(/"listening"/, 45_000);
    expect(proc.exitStatus()).toBeUndefined();
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000, { message: '/readyz once the database is back' });
  }, TEST_TIMEOUT_MS);
});
