import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterRecord, Store, TransitionRecord } from '../../src/coordinator/store/store.ts';
import { STORES, registered, registration } from './stores.ts';

const TIMEOUT = 35_000;
const agent = (processId: string, processStartedAt: number, extra: Record<string, unknown> = {}) => ({ processId, processStartedAt, ...extra });

for (const impl of STORES) {
  describe(`transitions log contract: ${impl.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    let cluster: ClusterRecord;

    beforeAll(async () => {
      ({ store, dispose } = await impl.open('history'));
      cluster = await store.ensureCluster('default', 1000);
    });
    afterAll(async () => dispose?.());

    const historyOf = async (instanceId: number): Promise<TransitionRecord[]> => store.instanceHistory(instanceId, 0, 100);
    /** Times the node out the way the sweeper does: silent past the timeout. */
    const timeOut = async (nodeId: string, at: number) => store.terminateExpired([nodeId], at - TIMEOUT, at, { decidedBy: 'replica-a' });

    it('records a registration with its evidence, and a superseded node before the registration that replaced it', async () => {
      const input = registration(cluster.id, { hostname: 'log-1', identity: 'uuid-log-1', bootId: 'boot-a', address: '10.0.0.7', replica: 'replica-a' });
      const first = await registered(store, { ...input, facts: { agentVersion: '1.2.3' }, agent: agent('proc-1', 900_000) });
      const again = await registered(store, registration(cluster.id, { hostname: 'log-1', identity: 'uuid-log-1', bootId: 'boot-a', now: 1_001_000, replica: 'replica-b' }));
      const [registeredAgain, superseded, registeredFirst] = await historyOf(first.instanceId);
      expect(registeredFirst).toMatchObject({
        kind: 'node-registered',
        nodeId: first.nodeId,
        clusterId: cluster.id,
        instanceId: first.instanceId,
        recordedAt: 1_000_000,
        reason: null,
        evidence: { hostname: 'log-1', identity: 'uuid-log-1', bootId: 'boot-a', agentVersion: '1.2.3', address: '10.0.0.7', agent: { processId: 'proc-1' } },
      });
      expect(superseded).toMatchObject({
        kind: 'node-terminated',
        nodeId: first.nodeId,
        reason: 'Unknown',
        evidence: { lastHeartbeat: 1_000_000, supersededBy: again.nodeId, decidedBy: 'replica-b' },
      });
      expect(registeredAgain).toMatchObject({ kind: 'node-registered', nodeId: again.nodeId, evidence: { supersededNodeId: first.nodeId } });
      expect(superseded!.id).toBeGreaterThan(registeredFirst!.id);
      expect(registeredAgain!.id).toBeGreaterThan(superseded!.id);
    });

    it('records refused registrations: a clone (DuplicateIdentity) and a second agent on one host (HostnameInUse)', async () => {
      const { nodeId, instanceId } = await registered(store, registration(cluster.id, { hostname: 'log-2', identity: 'uuid-log-2', bootId: 'boot-a' }));
      await store.registerNode(registration(cluster.id, { hostname: 'log-2', identity: 'uuid-log-2', bootId: 'boot-b', now: 1_002_000, address: '10.0.0.9' }));
      await store.registerNode(registration(cluster.id, { hostname: 'log-2', identity: 'uuid-other', bootId: 'boot-a', now: 1_003_000 }));
      const [hostnameInUse, duplicate] = await historyOf(instanceId);
      expect(duplicate).toMatchObject({
        kind: 'registration-refused',
        reason: 'DuplicateIdentity',
        nodeId: null,
        evidence: { hostname: 'log-2', bootId: 'boot-b', address: '10.0.0.9', activeNodeId: nodeId, lastHeartbeat: 1_000_000 },
      });
      expect(hostnameInUse).toMatchObject({ kind: 'registration-refused', reason: 'HostnameInUse', evidence: { otherIdentity: 'uuid-log-2', identity: 'uuid-other' } });
    });

    it('records a deregistration once, and a timeout with its deadline, the replica that decided and the hold it was let through after', async () => {
      const stopped = await registered(store, registration(cluster.id, { hostname: 'log-3' }));
      expect(await store.terminateNode(stopped.nodeId, 'Shutdown', 1_004_000, { decidedBy: 'replica-a' })).toBe(true);
      expect(await store.terminateNode(stopped.nodeId, 'Shutdown', 1_005_000)).toBe(false);
      expect((await historyOf(stopped.instanceId)).map((t) => [t.kind, t.reason, t.evidence])).toEqual([
        ['node-terminated', 'Shutdown', { lastHeartbeat: 1_000_000, decidedBy: 'replica-a' }],
        ['node-registered', null, { hostname: 'log-3' }],
      ]);

      const silent = await registered(store, registration(cluster.id, { hostname: 'log-4' }));
      const at = 1_000_000 + TIMEOUT + 500;
      expect(await store.terminateExpired([silent.nodeId], at - TIMEOUT, at, { decidedBy: 'replica-a', hold: 'lifted' })).toEqual([silent.nodeId]);
      expect(await store.terminateExpired([silent.nodeId], at - TIMEOUT, at + 1000)).toEqual([]);
      const [timedOut, ...rest] = await historyOf(silent.instanceId);
      expect(rest).toHaveLength(1);
      expect(timedOut).toMatchObject({
        kind: 'node-terminated',
        reason: 'HeartbeatTimeout',
        recordedAt: at,
        evidence: { lastHeartbeat: 1_000_000, deadline: 1_000_000 + TIMEOUT, decidedBy: 'replica-a', hold: 'lifted' },
      });
    });

    it('gives the outage verdict of a host that comes back after a timeout: rebooted, agent restarted, cut off', async () => {
      const verdictAfter = async (hostname: string, back: Record<string, unknown>) => {
        const first = await registered(store, registration(cluster.id, { hostname, identity: `uuid-${hostname}`, bootId: 'boot-a', agent: agent(`proc-${hostname}`, 900_000) }));
        const at = 1_000_000 + TIMEOUT + 1000;
        await timeOut(first.nodeId, at);
        await registered(store, registration(cluster.id, { hostname, identity: `uuid-${hostname}`, now: at + 5000, ...back }));
        const [registration_] = await historyOf(first.instanceId);
        return registration_!.kind === 'node-registered' ? registration_!.evidence.verdict : undefined;
      };
      expect(await verdictAfter('v-reboot', { bootId: 'boot-b', agent: agent('proc-new', 1_039_000, { hostBootedAt: 1_030_000 }) })).toEqual({
        outcome: 'rebooted',
        previousNodeId: expect.any(String),
        silentSince: 1_000_000,
        bootedAt: 1_030_000,
      });
      expect(await verdictAfter('v-restart', { bootId: 'boot-a', agent: agent('proc-new', 1_039_000) })).toMatchObject({ outcome: 'agent-restarted', agentStartedAt: 1_039_000 });
      const failures = { count: 4, firstAt: 1_005_000, firstError: 'ECONNREFUSED', lastAt: 1_035_000, lastError: 'ETIMEDOUT' };
      expect(await verdictAfter('v-cut', { bootId: 'boot-a', agent: agent('proc-v-cut', 900_000, { failures }) })).toMatchObject({ outcome: 'cut-off', failures });
      expect(await verdictAfter('v-seed', {})).toMatchObject({ outcome: 'unknown' });
    });

    it('records a change of an instance health status with the checks failing, and nothing while it stays the same', async () => {
      const { instanceId } = await registered(store, registration(cluster.id, { hostname: 'log-health' }));
      const report = (status: 'passing' | 'critical', now: number) =>
        store.recordInstanceReport(instanceId, { now, health: { status, checks: [{ name: 'disk', status }, { name: 'ping', status: 'passing' }] } });
      await report('passing', 1_001_000);
      await report('passing', 1_002_000);
      await report('critical', 1_003_000);
      await store.recordInstanceReport(instanceId, { now: 1_004_000, labels: { zone: 'a' } });
      const changes = (await historyOf(instanceId)).filter((t) => t.kind === 'health-changed');
      expect(changes.map((t) => [t.recordedAt, t.reason, t.evidence])).toEqual([
        [1_003_000, 'critical', { previous: 'passing', failing: ['disk'] }],
        [1_001_000, 'passing', { previous: null, failing: [] }],
      ]);
      expect(await store.getInstance(instanceId)).toMatchObject({ healthStatus: 'critical', labels: { zone: 'a' } });
    });

    it('records a cluster mass-silence hold, which belongs to no instance history', async () => {
      const evidence = { silent: 6, active: 10, timedOut: 1, threshold: 0.5 };
      await store.recordTransitions([{ kind: 'hold-started', recordedAt: 1_050_000, clusterId: cluster.id, instanceId: null, nodeId: null, reason: null, evidence }]);
      await store.recordTransitions([{ kind: 'hold-ended', recordedAt: 1_060_000, clusterId: cluster.id, instanceId: null, nodeId: null, reason: 'lifted', evidence: {} }]);
      const [started, ended] = (await store.transitionsAfter(0, 1000)).filter((t) => t.kind.startsWith('hold-'));
      expect(started).toMatchObject({ kind: 'hold-started', clusterId: cluster.id, instanceId: null, evidence });
      expect(ended).toMatchObject({ kind: 'hold-ended', reason: 'lifted', evidence: {} });
    });

    it('reads the log by id for the watch stream, and knows its oldest and newest ids', async () => {
      const range = await store.transitionIdRange();
      expect(range).not.toBeNull();
      const all = await store.transitionsAfter(0, 1000);
      expect(all.map((t) => t.id)).toEqual([...all.map((t) => t.id)].sort((a, b) => a - b));
      expect(all[0]!.id).toBe(range!.oldest);
      expect(all.at(-1)!.id).toBe(range!.newest);
      expect((await store.transitionsAfter(all[1]!.id, 2)).map((t) => t.id)).toEqual([all[2]!.id, all[3]!.id]);
      expect(await store.transitionsAfter(range!.newest, 10)).toEqual([]);
    });

    it('pages an instance history newest first and counts it', async () => {
      const { instanceId } = await registered(store, registration(cluster.id, { hostname: 'log-pages', identity: 'uuid-pages', bootId: 'b' }));
      for (let i = 1; i <= 4; i++) await registered(store, registration(cluster.id, { hostname: 'log-pages', identity: 'uuid-pages', bootId: 'b', now: 1_000_000 + i }));
      expect(await store.countInstanceHistory(instanceId)).toBe(9);
      const page = await store.instanceHistory(instanceId, 2, 3);
      const all = await historyOf(instanceId);
      expect(page).toEqual(all.slice(2, 5));
      expect(await store.countInstanceHistory(999_999)).toBe(0);
    });

    it('prunes old transitions and old Terminated nodes in batches, keeping every instance its newest node', async () => {
      const old = await registered(store, registration(cluster.id, { hostname: 'log-old', identity: 'uuid-old', bootId: 'b', now: 10 }));
      await store.terminateNode(old.nodeId, 'Shutdown', 20);
      const older = await registered(store, registration(cluster.id, { hostname: 'log-old', identity: 'uuid-old', bootId: 'b', now: 30 }));
      await store.terminateNode(older.nodeId, 'Shutdown', 40);
      const lone = await registered(store, registration(cluster.id, { hostname: 'log-lone', now: 50 }));
      await store.terminateNode(lone.nodeId, 'Shutdown', 60);
      const before = (await store.transitionsAfter(0, 10_000)).filter((t) => t.recordedAt < 100).length;
      expect(before).toBe(6);

      expect(await store.pruneTransitions(100, 4)).toBe(4);
      expect(await store.pruneTransitions(100, 4)).toBe(2);
      expect(await store.pruneTransitions(100, 4)).toBe(0);
      expect((await store.transitionsAfter(0, 10_000)).every((t) => t.recordedAt >= 100)).toBe(true);

      expect(await store.pruneTerminatedNodes(100, 10)).toBe(1);
      expect(await store.getNode(old.nodeId)).toBeUndefined();
      expect(await store.getNode(older.nodeId)).toMatchObject({ status: 'Terminated' });
      expect(await store.getNode(lone.nodeId)).toMatchObject({ status: 'Terminated' });
      expect(await store.pruneTerminatedNodes(100, 10)).toBe(0);
    });
  });
}
