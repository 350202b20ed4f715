import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN, type Harness, READER, startHarness } from '../../helpers/coordinator-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35, massSilenceGuard: false });
  h.passGrace();
});
afterEach(async () => h.close());

const nodeRow = (nodeId: string) => h.store.db.prepare('SELECT status, termination_reason FROM nodes WHERE id = ?').get(nodeId);

describe('terminations race safely', () => {
  type Racer = 'deregistration' | 'sweep';

  /**
   * Holds the deregistration's and the sweep's conditional writes until both have decided to
   * terminate the node (each saw it Active), then lets them write one after the other, in `order`.
   */
  function interleave(order: readonly [Racer, Racer]): void {
    const arrived = new Map<Racer, () => void>();
    const gate = (racer: Racer) =>
      new Promise<void>((resolve) => {
        arrived.set(racer, resolve);
        if (arrived.size === 2) arrived.get(order[0])?.();
      });
    const terminateNode = h.store.terminateNode.bind(h.store);
    const terminateExpired = h.store.terminateExpired.bind(h.store);
    const written = (racer: Racer) => {
      if (racer === order[0]) arrived.get(order[1])?.();
    };
    vi.spyOn(h.store, 'terminateNode').mockImplementation(async (...args) => {
      await gate('deregistration');
      return terminateNode(...args).finally(() => written('deregistration'));
    });
    vi.spyOn(h.store, 'terminateExpired').mockImplementation(async (...args) => {
      await gate('sweep');
      return terminateExpired(...args).finally(() => written('sweep'));
    });
  }

  it.each([
    { order: ['deregistration', 'sweep'] as const, status: 200, reason: 'Shutdown' },
    { order: ['sweep', 'deregistration'] as const, status: 410, reason: 'HeartbeatTimeout' },
  ])('ends a node racing a deregistration and a sweep with exactly one reason: $order.0 writes first', async ({ order, status, reason }) => {
    const { nodeId, nodeToken } = await h.register({ name: 'racer' });
    h.clock.advance(36_000);
    interleave(order);
    const [deregister, sweep] = await Promise.all([h.call('cluster_DeregisterNode', nodeToken, {}), h.coordinator.sweeper.sweep()]);
    expect(deregister.status).toBe(status);
    expect(sweep.terminated).toEqual(reason === 'HeartbeatTimeout' ? [nodeId] : []);
    expect(nodeRow(nodeId)).toEqual({ status: 'Terminated', termination_reason: reason });
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
    await h.coordinator.heartbeats.flush();
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

  it('counts a heartbeat whose batch is still being written when a clone registers', async () => {
    const original = await h.register({ identity: 'vm-1', hostname: 'vm-1', bootId: 'boot-A' });
    h.clock.advance(20_000);
    expect((await h.call('cluster_ReportNodeHeartbeat', original.nodeToken)).status).toBe(200);
    let release = () => {};
    const written = new Promise<void>((resolve) => (release = resolve));
    const writeHeartbeats = h.store.writeHeartbeats.bind(h.store);
    vi.spyOn(h.store, 'writeHeartbeats').mockImplementation(async (batch) => {
      await written;
      return writeHeartbeats(batch);
    });
    const flushing = h.coordinator.heartbeats.flush();
    const registering = h.call('cluster_RegisterNode', ADMIN, { identity: 'vm-1', hostname: 'vm-1', bootId: 'boot-B' });
    release();
    const [clone] = await Promise.all([registering, flushing]);
    expect(clone).toMatchObject({ status: 409, body: { error_code: 'DuplicateIdentity' } });
  });
});
