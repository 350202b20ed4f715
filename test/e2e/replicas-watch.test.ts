import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN, E2E_ENROLL, type CoordinatorProcess, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { type TestDatabase, createTestDatabase } from '../helpers/postgres.ts';
import { cleanupAll, waitFor } from '../helpers/spawn-process.ts';
import { type SseClient, openSse } from '../helpers/sse-client.ts';

const TIMING = ['--heartbeat-interval', '1', '--heartbeat-timeout', '4', '--agent-retry-max-delay-secs', '2'];

let database: TestDatabase;
const clients: SseClient[] = [];

beforeAll(async () => {
  database = await createTestDatabase('replicas-watch');
});
afterAll(async () => database?.drop());
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await cleanupAll();
});

async function watch(replica: CoordinatorProcess): Promise<SseClient> {
  const client = await openSse(`${replica.url}/api/v1/watch`, { authorization: `Bearer ${E2E_ADMIN}` });
  clients.push(client);
  await waitFor(() => client.comments.length > 0, 10_000, { message: 'the watch stream opening' });
  return client;
}

describe('the watch stream with two replicas on one PostgreSQL database', () => {
  it('carries on each replica the transitions the other decided, a timeout within 1 s of the sweep', async () => {
    const sweeping = await startCoordinatorProcess({ storePath: database.url, args: TIMING });
    await sweeping.proc.waitForLine(/leadership gained/, 30_000);
    const other = await startCoordinatorProcess({ storePath: database.url, args: TIMING });
    const onOther = await watch(other);
    const onSweeping = await watch(sweeping);

    // Registered through the sweeping replica, never heartbeating: the sweeping replica times it out.
    const { nodeId } = (await sweeping.post('cluster_RegisterNode', E2E_ENROLL, { name: 'silent', hostname: 'silent' })).body as { nodeId: string };
    const timedOut = await onOther.waitForEvent((event) => event.event === 'node-terminated' && event.data.node_id === nodeId, 40_000, 'the timeout on the other replica');
    const receivedAt = Date.now();
    // From the end of the sweep that decided it (logged once committed) to the other replica's stream.
    const swept = await sweeping.proc.waitForLine(new RegExp(`"timed out silent nodes".*${nodeId}`), 5_000);
    const sweptAt = Date.parse((JSON.parse(swept) as { timestamp: string }).timestamp);
    process.stderr.write(`watch on the other replica: termination received ${receivedAt - sweptAt} ms after the sweep\n`);
    expect(receivedAt - sweptAt).toBeLessThan(1000);
    expect(timedOut.data.evidence.decided_by).toMatch(new RegExp(`/${sweeping.proc.pid}$`));
    expect(onOther.events.map((event) => event.event)).toEqual(['node-registered', 'node-terminated']);

    // And the other way round: a registration through the replica that does not sweep.
    const { nodeId: second } = (await other.post('cluster_RegisterNode', E2E_ENROLL, { name: 'second', hostname: 'second' })).body as { nodeId: string };
    await onSweeping.waitForEvent((event) => event.event === 'node-registered' && event.data.node_id === second, 5000, 'the registration on the sweeping replica');
    await onOther.waitForEvent((event) => event.data?.node_id === second, 5000, 'the registration on its own replica');
    // One log, one order: both streams carry the same events with the same ids.
    expect(onSweeping.events.map((event) => event.id)).toEqual(onOther.events.map((event) => event.id));
  });
});
