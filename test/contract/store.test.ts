import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterRecord, Store } from '../../src/coordinator/store/store.ts';
import { STORES, registered, registration } from './stores.ts';

for (const impl of STORES) {
  describe(`store contract: ${impl.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    let cluster: ClusterRecord;

    beforeAll(async () => {
      ({ store, dispose } = await impl.open('contract'));
      cluster = await store.ensureCluster('default', 1000);
    });
    afterAll(async () => dispose?.());

    it('runs its migrations once and answers a ping', async () => {
      await store.migrate();
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('pages through the Active nodes by id with what authenticates them, and no Terminated node', async () => {
      const nodes = [];
      for (let i = 0; i < 5; i++) nodes.push(await registered(store, registration(cluster.id)));
      const mine = new Set(nodes.map((node) => node.nodeId));
      await store.terminateNode(nodes[2]!.nodeId, 'Shutdown', 2000);
      const seen = [];
      for (let afterId = ''; ; ) {
        const page = await store.activeNodes(afterId, 2);
        seen.push(...page);
        if (page.length < 2) break;
        afterId = page.at(-1)!.nodeId;
      }
      const ours = seen.filter((node) => mine.has(node.nodeId));
      expect(ours.map((node) => node.nodeId)).toEqual(nodes.filter((_, i) => i !== 2).map((node) => node.nodeId).sort());
      const first = await store.getNode(ours[0]!.nodeId);
      expect(ours[0]).toEqual({ nodeId: first!.nodeId, clusterId: cluster.id, instanceId: first!.instanceId, tokenHash: first!.tokenHash });
      expect(seen.map((node) => node.nodeId)).toEqual([...seen.map((node) => node.nodeId)].sort());
    });

    it('creates a cluster once and finds it by name and id', async () => {
      const again = await store.ensureCluster('default', 2000);
      expect(again).toEqual(cluster);
      expect(cluster).toMatchObject({ name: 'default', provider: '', regions: [], createdAt: 1000 });
      expect(await store.findClusterByName('default')).toEqual(cluster);
      expect(await store.findClusterById(cluster.id)).toEqual(cluster);
      expect(await store.findClusterByName('nope')).toBeUndefined();
    });

    it('lists, counts and updates clusters with key-based pages', async () => {
      const second = await store.ensureCluster('second', 3000);
      expect((await store.listClusters(0, 10)).map((c) => c.name)).toEqual(['default', 'second']);
      expect((await store.listClusters(cluster.id, 10)).map((c) => c.name)).toEqual(['second']);
      expect(await store.countClusters()).toBe(2);
      const updated = await store.updateCluster(second.id, { provider: 'aws', regions: ['eu-west-1'] });
      expect(updated).toMatchObject({ provider: 'aws', regions: ['eu-west-1'] });
      expect(await store.updateCluster(second.id, { provider: 'gcp' })).toMatchObject({ provider: 'gcp', regions: ['eu-west-1'] });
      expect(await store.updateCluster(99_999, { provider: 'x' })).toBeUndefined();
    });

    it('stores tokens, finds unrevoked ones by hash and revokes once', async () => {
      const token = { id: 'tok-1', role: 'enroll' as const, clusterId: cluster.id, hash: 'h-1', label: 'ci', createdAt: 5, revokedAt: null };
      await store.insertToken(token);
      expect(await store.findTokenByHash('h-1')).toEqual(token);
      expect((await store.listTokens()).map((t) => t.id)).toContain('tok-1');
      expect(await store.revokeToken('tok-1', 9)).toBe(true);
      expect(await store.revokeToken('tok-1', 10)).toBe(false);
      expect(await store.findTokenByHash('h-1')).toBeUndefined();
      expect((await store.listTokens()).find((t) => t.id === 'tok-1')?.revokedAt).toBe(9);
    });

    it('registers a node with its instance, and supersedes the Active node on re-registration', async () => {
      const first = await store.registerNode(registration(cluster.id, { hostname: 'web-1', identity: 'uuid-web-1', bootId: 'boot-a' }));
      expect(first).toMatchObject({ outcome: 'registered', supersededNodeId: null });
      if (first.outcome !== 'registered') return;
      expect(first.node).toMatchObject({ status: 'Active', joinedAt: 1_000_000, lastHeartbeat: 1_000_000, terminationReason: null });
      const again = await store.registerNode(registration(cluster.id, { hostname: 'web-1', identity: 'uuid-web-1', bootId: 'boot-a', now: 1_001_000 }));
      expect(again).toMatchObject({ outcome: 'registered', instanceId: first.instanceId, supersededNodeId: first.node.nodeId });
      expect(await store.getNode(first.node.nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'Unknown', terminatedAt: 1_001_000 });
      const active = await store.listNodes(cluster.id, false);
      expect(active.filter((n) => n.instanceId === first.instanceId)).toHaveLength(1);
    });

    it('refuses a clone: same identity, other boot, still heartbeating', async () => {
      const { nodeId } = await registered(store, registration(cluster.id, { hostname: 'db-1', identity: 'uuid-db-1', bootId: 'boot-a' }));
      const clone = await store.registerNode(registration(cluster.id, { hostname: 'db-1', identity: 'uuid-db-1', bootId: 'boot-b', now: 1_005_000 }));
      expect(clone).toEqual({ outcome: 'duplicate', activeNodeId: nodeId, lastHeartbeat: 1_000_000 });
      expect((await store.getNode(nodeId))?.status).toBe('Active');
    });

    it('supersedes, whatever the boot, once the Active node has been silent for the window', async () => {
      const { nodeId } = await registered(store, registration(cluster.id, { hostname: 'silent-1', bootId: 'boot-a' }));
      const later = { now: 1_020_000, duplicateSince: 1_005_000 };
      const seedOnly = await store.registerNode(registration(cluster.id, { hostname: 'silent-1', ...later }));
      expect(seedOnly).toMatchObject({ outcome: 'registered', supersededNodeId: nodeId });
    });

    it('refuses a registration that cannot prove the same boot while the Active node heartbeats', async () => {
      const { nodeId } = await registered(store, registration(cluster.id, { hostname: 'same-name' }));
      const soon = { now: 1_005_000, duplicateSince: 990_000 };
      const duplicate = { outcome: 'duplicate', activeNodeId: nodeId, lastHeartbeat: 1_000_000 };
      // Neither side has a boot id (two seed-only clients with one name), or only the newcomer has one.
      expect(await store.registerNode(registration(cluster.id, { hostname: 'same-name', ...soon }))).toEqual(duplicate);
      expect(await store.registerNode(registration(cluster.id, { hostname: 'same-name', bootId: 'boot-x', ...soon }))).toEqual(duplicate);
      expect((await store.getNode(nodeId))?.status).toBe('Active');
    });

    it('judges "still heartbeating" by the stored heartbeat, one written just before the registration included', async () => {
      const { nodeId } = await registered(store, registration(cluster.id, { hostname: 'pending-1', bootId: 'boot-a' }));
      // By its join alone the node is silent (joined at 1_000_000, window from 1_005_000)...
      const clone = registration(cluster.id, { hostname: 'pending-1', bootId: 'boot-b', now: 1_020_000, duplicateSince: 1_005_000 });
      // ...but the coordinator writes the heartbeats it holds before it registers.
      await store.writeHeartbeats([{ nodeId, at: 1_019_000 }]);
      expect(await store.registerNode(clone)).toEqual({ outcome: 'duplicate', activeNodeId: nodeId, lastHeartbeat: 1_019_000 });
    });

    it('claims an instance by hostname and refuses a hostname another instance has', async () => {
      const a = await registered(store, registration(cluster.id, { hostname: 'claim-a', identity: 'uuid-claim-a', bootId: 'boot-a' }));
      // Claimed once its node fell silent: while it heartbeats, the instance is the other identity's.
      const byName = await registered(store, registration(cluster.id, { hostname: 'claim-a', bootId: 'boot-a', now: 1_020_000 }));
      expect(byName.instanceId).toBe(a.instanceId);
      await registered(store, registration(cluster.id, { hostname: 'claim-b', identity: 'uuid-claim-b' }));
      const taken = await store.registerNode(registration(cluster.id, { hostname: 'claim-b', identity: 'uuid-claim-a' }));
      expect(taken).toEqual({ outcome: 'hostname-taken', hostname: 'claim-b' });
    });

    it('refuses another identity on the same host while the Active node heartbeats, and lets it adopt the instance once silent', async () => {
      const first = await registered(store, registration(cluster.id, { hostname: 'two-agents', identity: 'uuid-first', bootId: 'boot-a' }));
      const second = registration(cluster.id, { hostname: 'two-agents', identity: 'uuid-second', bootId: 'boot-a', now: 1_005_000 });
      expect(await store.registerNode(second)).toEqual({
        outcome: 'hostname-in-use',
        activeNodeId: first.nodeId,
        lastHeartbeat: 1_000_000,
        hostname: 'two-agents',
        otherIdentity: 'uuid-first',
      });
      expect((await store.getNode(first.nodeId))?.status).toBe('Active');

      const adopted = await store.registerNode({ ...second, now: 1_020_000, duplicateSince: 1_005_000 });
      expect(adopted).toMatchObject({ outcome: 'registered', instanceId: first.instanceId, supersededNodeId: first.nodeId });
      expect((await store.getInstance(first.instanceId))?.uuid).toBe('uuid-second');
    });

    it('gives concurrent registrations of one new host exactly one Active node', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, () => store.registerNode(registration(cluster.id, { hostname: 'race-host', identity: 'uuid-race', bootId: 'boot-r' }))),
      );
      expect(results.every((r) => r.outcome === 'registered')).toBe(true);
      const instanceIds = new Set(results.map((r) => (r.outcome === 'registered' ? r.instanceId : 0)));
      expect(instanceIds.size).toBe(1);
      const nodes = (await store.listNodes(cluster.id, false)).filter((n) => instanceIds.has(n.instanceId));
      expect(nodes).toHaveLength(1);
    });

    it('lets exactly one of concurrent seed-only registrations of one new host in, and refuses the others', async () => {
      const results = await Promise.all(Array.from({ length: 6 }, () => store.registerNode(registration(cluster.id, { hostname: 'seed-race' }))));
      expect(results.filter((r) => r.outcome === 'registered')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(5);
      const instanceIds = new Set(results.map((r) => (r.outcome === 'registered' ? r.instanceId : 0)));
      expect((await store.listNodes(cluster.id, false)).filter((n) => instanceIds.has(n.instanceId))).toHaveLength(1);
    });

    it('writes a heartbeat batch, keeps the newest timestamp and drops Terminated nodes', async () => {
      const a = await registered(store, registration(cluster.id));
      const b = await registered(store, registration(cluster.id));
      expect(await store.terminateNode(b.nodeId, 'Shutdown', 1_000_500)).toBe(true);
      const dropped = await store.writeHeartbeats([
        { nodeId: a.nodeId, at: 1_003_000 },
        { nodeId: b.nodeId, at: 1_003_000 },
        { nodeId: 'no-such-node', at: 1_003_000 },
      ]);
      expect(dropped.sort()).toEqual([b.nodeId, 'no-such-node'].sort());
      expect((await store.getNode(a.nodeId))?.lastHeartbeat).toBe(1_003_000);
      // An older timestamp from a slower replica never moves lastHeartbeat back.
      expect(await store.writeHeartbeats([{ nodeId: a.nodeId, at: 1_002_000 }])).toEqual([]);
      expect((await store.getNode(a.nodeId))?.lastHeartbeat).toBe(1_003_000);
      // A heartbeat never resurrects a Terminated node.
      expect(await store.getNode(b.nodeId)).toMatchObject({ status: 'Terminated', lastHeartbeat: 1_000_000, terminationReason: 'Shutdown' });
      expect(await store.writeHeartbeats([])).toEqual([]);
    });

    it('terminates a node once: the second call changes nothing', async () => {
      const { nodeId } = await registered(store, registration(cluster.id));
      expect(await store.terminateNode(nodeId, 'Shutdown', 1_000_100)).toBe(true);
      expect(await store.terminateNode(nodeId, 'HeartbeatTimeout', 1_000_200)).toBe(false);
      expect(await store.getNode(nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'Shutdown', terminatedAt: 1_000_100 });
    });

    it('ends a node that deregisters during a sweep with exactly one reason', async () => {
      for (let round = 0; round < 5; round++) {
        const { nodeId } = await registered(store, registration(cluster.id, { now: 500_000 }));
        const [deregistered, swept] = await Promise.all([
          store.terminateNode(nodeId, 'Shutdown', 2_000_000),
          store.terminateExpired([nodeId], 1_000_000, 2_000_000),
        ]);
        expect(Number(deregistered) + swept.length).toBe(1);
        const node = await store.getNode(nodeId);
        expect(node?.terminationReason).toBe(deregistered ? 'Shutdown' : 'HeartbeatTimeout');
      }
    });

    it('finds expired Active nodes oldest first and terminates them only while still silent', async () => {
      const other = await store.ensureCluster('expiry', 1000);
      const old = await registered(store, registration(other.id, { now: 100 }));
      const older = await registered(store, registration(other.id, { now: 50 }));
      const fresh = await registered(store, registration(other.id, { now: 10_000 }));
      const expired = (await store.findExpiredNodes(5_000, 1000)).filter((n) => n.clusterId === other.id);
      expect(expired).toEqual([
        { nodeId: older.nodeId, clusterId: other.id, lastHeartbeat: 50 },
        { nodeId: old.nodeId, clusterId: other.id, lastHeartbeat: 100 },
      ]);
      expect(await store.countActiveNodes([other.id, 99_999])).toEqual(new Map([[other.id, 3], [99_999, 0]]));
      // A heartbeat flushed between the find and the termination saves the node.
      await store.writeHeartbeats([{ nodeId: old.nodeId, at: 6_000 }]);
      const terminated = await store.terminateExpired([old.nodeId, older.nodeId, fresh.nodeId], 5_000, 20_000);
      expect(terminated).toEqual([older.nodeId]);
      expect(await store.getNode(older.nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'HeartbeatTimeout', terminatedAt: 20_000 });
      expect(await store.terminateExpired([older.nodeId], 5_000, 21_000)).toEqual([]);
      expect(await store.terminateExpired([], 5_000, 21_000)).toEqual([]);
    });

    it('lists a cluster\'s nodes by join time, with or without the Terminated ones', async () => {
      const other = await store.ensureCluster('listing', 1000);
      const a = await registered(store, registration(other.id, { now: 10 }));
      const b = await registered(store, registration(other.id, { now: 20 }));
      await store.terminateNode(a.nodeId, 'Shutdown', 30);
      expect((await store.listNodes(other.id, true)).map((n) => n.nodeId)).toEqual([a.nodeId, b.nodeId]);
      expect((await store.listNodes(other.id, false)).map((n) => n.nodeId)).toEqual([b.nodeId]);
      expect(await store.getNode('missing')).toBeUndefined();
    });
  });
}
