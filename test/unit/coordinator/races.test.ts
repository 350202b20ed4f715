import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35, massSilenceGuard: false });
  h.passGrace();
});
afterEach(async () => h.close());

const nodeRow = (nodeId: string) => h.store.db.prepare('SELECT status, termination_reason FROM nodes WHERE id = ?').get(nodeId);

describe('terminations race safely', () => {
  it('ends a node racing a deregistration and a sweep with exactly one reason', async () => {
    for (let round = 0; round < 20; round += 1) {
      const { nodeId, nodeToken } = await h.register({ name: `racer-${round}` });
      h.clock.advance(36_000);
      const [deregister] = await Promise.all([h.call('cluster_DeregisterNode', nodeToken, {}), h.coordinator.sweeper.sweep()]);
      const row = nodeRow(nodeId) as { status: string; termination_reason: string };
      expect(row.status).toBe('Terminated');
      // The deregistration either won (200, Shutdown) or found the node already timed out (410).
      if (deregister.status === 200) expect(row.termination_reason).toBe('Shutdown');
      else expect([deregister.status, row.termination_reason]).toEqual([410, 'HeartbeatTimeout']);
    }
  });

  it('lets only one of two conditional terminations of the same node win', async () => {
    const { nodeId } = await h.register();
    h.clock.advance(36_000);
    const cutoff = h.clock.now() - 35_000;
    const [byShutdown, byTimeout] = await Promise.all([
      h.store.terminateNode(nodeId, 'Shutdown', h.clock.now()),
      h.store.terminateExpired([nodeId], cutoff, h.clock.now()),
    ]);
    expect([byShutdown, byTimeout.length]).toEqual([true, 0]);
    expect(nodeRow(nodeId)).toEqual({ status: 'Terminated', termination_reason: 'Shutdown' });
  });

  it('never revives a terminated node with a heartbeat, even one buffered before the termination', async () => {
    const { nodeId, nodeToken } = await h.register();
    expect((await h.call('cluster_ReportNodeHeartbeat', nodeToken, {})).status).toBe(200);
    // Another replica (or a sweep elsewhere) terminates it while our heartbeat is still buffered.
    await h.store.terminateNode(nodeId, 'HeartbeatTimeout', h.clock.now());
    await h.coordinator.nodes.flushHeartbeats();
    expect(nodeRow(nodeId)).toEqual({ status: 'Terminated', termination_reason: 'HeartbeatTimeout' });
    expect((await h.call('cluster_ReportNodeHeartbeat', nodeToken, {})).status).toBe(410);
    const nodes = (await h.call('cluster_GetDetails', READER, { includeTerminated: true })).body.nodes;
    expect(nodes).toMatchObject([{ nodeId, status: 'Terminated', terminationReason: 'HeartbeatTimeout' }]);
  });

  it('does not time out a node whose heartbeat arrived just before the sweep (still in the buffer)', async () => {
    const { nodeId, nodeToken } = await h.register();
    h.clock.advance(34_000);
    await h.call('cluster_ReportNodeHeartbeat', nodeToken, {});
    h.clock.advance(2_000);
    await h.coordinator.sweeper.sweep();
    expect(nodeRow(nodeId)).toEqual({ status: 'Active', termination_reason: null });
  });
});
