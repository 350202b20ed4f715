import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countsOf } from '../../src/coordinator/clusters/cluster-counts.ts';
import { addToTally, emptyTally, summaryFromRow } from '../../src/coordinator/fleet/instance-summary.ts';
import { capacityOf, deriveNodeState, isRunning } from '../../src/coordinator/instances/instance-view.ts';
import { loadSnapshots } from '../../src/coordinator/instances/snapshot-loader.ts';
import type { InstanceTally, Store } from '../../src/coordinator/store/store.ts';
import type { NodeFacts } from '../../src/shared/protocol.ts';
import { DEFAULT_INSTANCE_FIELDS, STORES, registered, registration } from './stores.ts';


const facts = (cpuCapacity: number, memCapacity: number, jobsRunning?: number): NodeFacts => ({
  capacity: { cpuCapacity, memCapacity },
  ...(jobsRunning === undefined ? {} : { jobsRunning }),
});

/** A fleet with one instance in each state the tally distinguishes. */
async function buildFleet(store: Store, clusterId: number): Promise<void> {
  const running = async (hostname: string, nodeFacts?: NodeFacts) => registered(store, registration(clusterId, { hostname, facts: nodeFacts }));
  await running('plain', facts(16, 20, 3));
  const half = await running('half', facts(16, 20, 1));
  await store.updateInstance(half.instanceId, { capacityAdjustment: '0.50' }, 2_000_000);
  const fractional = await running('fractional', facts(7, 3));
  await store.updateInstance(fractional.instanceId, { capacityAdjustment: '0.33' }, 2_000_000);
  const hop = await running('hop', facts(8, 8));
  await store.updateInstance(hop.instanceId, { nodeType: 'hop' }, 2_000_000);
  const failing = await running('failing', facts(8, 8, 2));
  await store.recordInstanceReport(failing.instanceId, { health: { status: 'critical', checks: [{ name: 'disk', status: 'critical' }] }, now: 2_000_000 });
  const disabled = await running('disabled', facts(4, 4));
  await store.updateInstance(disabled.instanceId, { enabled: false }, 2_000_000);
  const timedOut = await running('timed-out', facts(4, 4, 5));
  await store.terminateExpired([timedOut.nodeId], 1_500_000, 2_000_000);
  const shutdown = await running('shut-down', facts(4, 4));
  await store.terminateNode(shutdown.nodeId, 'Shutdown', 2_000_000);
  // Timed out once, then registered again: running, and no longer counted as failed.
  const returned = await running('returned', facts(2, 2));
  await store.terminateExpired([returned.nodeId], 1_500_000, 2_000_000);
  await running('returned', facts(2, 2));
  await store.createInstance({ ...DEFAULT_INSTANCE_FIELDS, hostname: 'never-installed', nodeState: 'provision-fail', clusterId, uuid: `u-${clusterId}-1`, now: 2_000_000 });
  await store.createInstance({ ...DEFAULT_INSTANCE_FIELDS, hostname: 'pre-created', clusterId, uuid: `u-${clusterId}-2`, now: 2_000_000 });
}

/** No heartbeat in memory here: a node's newest heartbeat is the store's. */
const STORED_HEARTBEATS_ONLY = { newestHeartbeat: (node: { lastHeartbeat: number }) => node.lastHeartbeat };

/** The same figures computed from the instance views, one instance at a time. */
async function tallyFromViews(store: Store, clusterId: number): Promise<InstanceTally> {
  const snapshots = await loadSnapshots(store, STORED_HEARTBEATS_ONLY, await store.listInstances({ clusterIds: [clusterId] }));
  const count = (test: (snapshot: (typeof snapshots)[number]) => boolean) => snapshots.filter(test).length;
  const timedOut = (snapshot: (typeof snapshots)[number]) => snapshot.latestNode?.terminationReason === 'HeartbeatTimeout';
  return {
    clusterId,
    instances: snapshots.length,
    running: count(isRunning),
    runningEnabled: count((s) => isRunning(s) && s.instance.enabled),
    expected: count((s) => s.instance.enabled && (isRunning(s) || timedOut(s))),
    timedOut: count(timedOut),
    failing: count((s) => isRunning(s) && s.instance.healthStatus === 'critical'),
    disabled: count((s) => !s.instance.enabled),
    failedToInstall: count((s) => deriveNodeState(s) === 'provision-fail'),
    capacity: snapshots.reduce((sum, s) => sum + capacityOf(s), 0),
    consumed: snapshots.filter(isRunning).reduce((sum, s) => sum + (s.instance.facts.jobsRunning ?? 0), 0),
  };
}

for (const impl of STORES) {
  describe(`store contract, instance tally: ${impl.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    let first: number;
    let second: number;

    beforeAll(async () => {
      ({ store, dispose } = await impl.open('tally'));
      first = (await store.ensureCluster('first', 1000)).id;
      second = (await store.ensureCluster('second', 1000)).id;
      await buildFleet(store, first);
      await registered(store, registration(second, { hostname: 'lone', facts: facts(10, 30), labels: { region: 'eu-west' } }));
      await registered(store, registration(second, { hostname: 'lone-2', labels: { region: 'us-east' } }));
      await registered(store, registration(second, { hostname: 'lone-3', labels: { region: 'eu-west', rack: 'r1' } }));
      await store.ensureCluster('empty', 1000);
    });
    afterAll(async () => dispose?.());

    it('counts each state of the fleet as design.md defines it', async () => {
      const [tally] = await store.tallyInstances([first]);
      expect(tally).toEqual({
        clusterId: first,
        instances: 11,
        running: 7,
        runningEnabled: 6,
        expected: 7,
        timedOut: 1,
        failing: 1,
        disabled: 1,
        failedToInstall: 1,
        // plain 20, half 18, fractional floor(3 + 4 x 0.33) = 4, disabled 4, returned 2; hop and failing 0.
        capacity: 48,
        consumed: 6,
      });
    });

    it('agrees with the instance views for every cluster', async () => {
      const tallies = await store.tallyInstances();
      expect(tallies.map((tally) => tally.clusterId)).toEqual([first, second]);
      expect(tallies[0]).toEqual(await tallyFromViews(store, first));
      expect(tallies[1]).toEqual(await tallyFromViews(store, second));
      expect(countsOf(tallies[1])).toEqual({
        nodes_count: 3,
        running_nodes_count: 3,
        failed_nodes_count: 0,
        failed_to_install_nodes_count: 0,
        disabled_nodes_count: 0,
      });
    });

    it('limits the tally to the given clusters, and an empty cluster has none', async () => {
      expect((await store.tallyInstances([second])).map((tally) => tally.clusterId)).toEqual([second]);
      expect(await store.tallyInstances([])).toEqual([]);
      const empty = await store.findClusterByName('empty');
      expect(await store.tallyInstances([empty!.id])).toEqual([]);
    });

    it('reads every instance once in key-based pages of summaries that add up to the tally', async () => {
      const rows = [];
      for (let afterId = 0; ; ) {
        const page = await store.instanceSummaries(afterId, 4);
        rows.push(...page);
        if (page.length < 4) break;
        afterId = page.at(-1)!.id;
      }
      const all = await store.listInstances({});
      expect(rows.map((row) => row.id)).toEqual(all.map((instance) => instance.id));
      // The fleet counts' own arithmetic over the summaries, against the store's aggregate.
      const tallies = new Map<number, InstanceTally>();
      for (const row of rows) {
        const summary = summaryFromRow(row);
        if (!tallies.has(summary.clusterId)) tallies.set(summary.clusterId, emptyTally(summary.clusterId));
        addToTally(tallies.get(summary.clusterId)!, summary, 1);
      }
      expect([...tallies.values()]).toEqual(await store.tallyInstances());
      expect(rows.find((row) => row.region === 'us-east')).toMatchObject({ running: 1, lastReason: null });
    });

    it('lists the region labels of each cluster once', async () => {
      const regions = await store.regionLabels([first, second]);
      expect([...(regions.get(second) ?? [])].sort()).toEqual(['eu-west', 'us-east']);
      expect(regions.has(first)).toBe(false);
    });
  });
}
