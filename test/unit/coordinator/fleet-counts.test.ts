import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FleetCounts } from '../../../src/coordinator/fleet/fleet-counts.ts';
import { scanThroughStore } from '../../../src/coordinator/fleet/fleet-scan.ts';
import type { InstanceFields, Store } from '../../../src/coordinator/store/store.ts';
import { SqliteStore } from '../../../src/coordinator/store/sqlite/sqlite-store.ts';
import { createLogger } from '../../../src/shared/logger.ts';
import type { HealthReport, Labels, NodeFacts, TerminationReason } from '../../../src/shared/protocol.ts';
import { DEFAULT_INSTANCE_FIELDS, registration } from '../../contract/stores.ts';
import { ADMIN, type Harness, startHarness } from '../../helpers/coordinator-harness.ts';
import { request } from './instances-helpers.ts';

const logger = createLogger({ level: 'error', component: 'test', pretty: false });

/** Fleet counts on the store; `inProcess` reads it through its own queries rather than a worker thread (quicker to start). */
function countsOn(store: Store, inProcess = false): FleetCounts {
  return new FleetCounts({ store, logger, reconcileMs: 3_600_000, knownInstanceOf: () => undefined, ...(inProcess ? { scan: scanThroughStore } : {}) });
}

/** What the store itself answers for every count the fleet counts keep. */
async function storeTruth(store: Store, clusterIds: readonly number[]) {
  const regions = await store.regionLabels(clusterIds);
  return {
    tallies: await store.tallyInstances(),
    regions: clusterIds.map((id) => [...(regions.get(id) ?? [])].sort()),
    counts: [
      await store.countInstances({}),
      await store.countInstances({ enabled: true }),
      await store.countInstances({ clusterIds: [clusterIds[0]!], enabled: false }),
    ],
  };
}

function memoryView(counts: FleetCounts, clusterIds: readonly number[]) {
  return {
    tallies: counts.tallies(),
    regions: clusterIds.map((id) => counts.regionLabels(id).sort()),
    counts: [
      counts.countInstances({}),
      counts.countInstances({ enabled: true }),
      counts.countInstances({ clusterIds: [clusterIds[0]!], enabled: false }),
    ],
  };
}

// Empty facts often: a registration without facts keeps the instance's.
const factsArb: fc.Arbitrary<NodeFacts> = fc.oneof(
  fc.constant({}),
  fc.record(
    { capacity: fc.record({ cpuCapacity: fc.integer({ min: 0, max: 64 }), memCapacity: fc.integer({ min: 0, max: 128 }) }), jobsRunning: fc.integer({ min: 0, max: 9 }) },
    { requiredKeys: [] },
  ),
);
const labelsArb: fc.Arbitrary<Labels> = fc.oneof(fc.constant({}), fc.constantFrom('eu', 'us', '').map((region) => ({ region, team: 'a' })));
const healthArb: fc.Arbitrary<HealthReport> = fc.constantFrom<HealthReport['status']>('passing', 'warning', 'critical').map((status) => ({ status, checks: [] }));
const fieldsArb: fc.Arbitrary<Partial<InstanceFields>> = fc.record(
  {
    enabled: fc.boolean(),
    nodeType: fc.constantFrom('execution', 'hop', 'control'),
    nodeState: fc.constantFrom('installed', 'provision-fail'),
    capacityAdjustment: fc.constantFrom('0.00', '0.33', '0.50', '1.00'),
  },
  { requiredKeys: [] },
);

type Step =
  | { kind: 'register'; host: number; cluster: number; facts?: NodeFacts; labels?: Labels }
  | { kind: 'deregister'; pick: number; reason: TerminationReason }
  | { kind: 'timeout'; pick: number }
  | { kind: 'report'; pick: number; facts?: NodeFacts; health?: HealthReport; labels?: Labels }
  | { kind: 'create'; host: number; cluster: number; fields: Partial<InstanceFields> }
  | { kind: 'update'; pick: number; fields: Partial<InstanceFields> }
  | { kind: 'delete'; pick: number };

// Few hosts, so steps meet the same instances again.
const host = fc.integer({ min: 0, max: 2 });
const cluster = fc.integer({ min: 0, max: 1 });
const pick = fc.nat();
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('register' as const), host, cluster, facts: factsArb, labels: labelsArb }, { requiredKeys: ['kind', 'host', 'cluster'] }),
  fc.record({ kind: fc.constant('deregister' as const), pick, reason: fc.constantFrom<TerminationReason>('Shutdown', 'Unknown') }),
  fc.record({ kind: fc.constant('timeout' as const), pick }),
  fc.record({ kind: fc.constant('report' as const), pick, facts: factsArb, health: healthArb, labels: labelsArb }, { requiredKeys: ['kind', 'pick'] }),
  fc.record({ kind: fc.constant('create' as const), host, cluster, fields: fieldsArb }),
  fc.record({ kind: fc.constant('update' as const), pick, fields: fieldsArb }),
  fc.record({ kind: fc.constant('delete' as const), pick }),
);

/** Applies one step to the store and tells the counts, as the coordinator's services do. */
async function apply(store: Store, counts: FleetCounts, step: Step, clusterIds: number[], now: number): Promise<void> {
  const nodes = [...(await store.listNodes(clusterIds[0]!, false)), ...(await store.listNodes(clusterIds[1]!, false))];
  const instances = await store.listInstances({});
  const node = nodes[('pick' in step ? step.pick : 0) % Math.max(1, nodes.length)];
  const instance = instances[('pick' in step ? step.pick : 0) % Math.max(1, instances.length)];
  switch (step.kind) {
    case 'register': {
      // Past the duplicate window, so a registration supersedes the instance's Active node.
      const result = await store.registerNode(
        registration(clusterIds[step.cluster]!, { hostname: `host-${step.host}`, facts: step.facts, labels: step.labels, now, duplicateSince: now }),
      );
      if (result.outcome === 'registered') counts.registered(result.instanceId, clusterIds[step.cluster]!, step);
      return;
    }
    case 'deregister':
      if (node && (await store.terminateNode(node.nodeId, step.reason, now))) counts.terminated(node.instanceId, step.reason);
      return;
    case 'timeout':
      if (node) await counts.timedOut(await store.terminateExpired([node.nodeId], now + 1, now));
      return;
    case 'report':
      if (!node) return;
      await store.recordInstanceReport(node.instanceId, { ...step, now });
      counts.reported(node.instanceId, step);
      return;
    case 'create': {
      const result = await store.createInstance({
        clusterId: clusterIds[step.cluster]!,
        uuid: crypto.randomUUID(),
        now,
        ...DEFAULT_INSTANCE_FIELDS,
        hostname: `host-${step.host}`,
        ...step.fields,
      });
      if (result.outcome === 'ok') counts.instanceWritten(result.instance);
      return;
    }
    case 'update': {
      const result = instance && (await store.updateInstance(instance.id, step.fields, now));
      if (result?.outcome === 'ok') counts.instanceWritten(result.instance);
      return;
    }
    case 'delete':
      if (instance && (await store.deleteInstance(instance.id)) === 'deleted') counts.instanceDeleted(instance.id);
  }
}

describe('fleet counts', () => {
  let dir: string;
  let store: SqliteStore;
  let clusterIds: number[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nodepulse-fleet-'));
    store = new SqliteStore(join(dir, 'store.db'));
    await store.migrate();
    clusterIds = [(await store.ensureCluster('default', 0)).id, (await store.ensureCluster('other', 0)).id];
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('agree with the store after any sequence of registrations, terminations, reports and instance edits', async () => {
    let now = 1_000_000;
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 30 }), async (steps) => {
        store.db.exec('DELETE FROM nodes; DELETE FROM instances;');
        const counts = countsOn(store, true);
        await counts.start();
        try {
          for (const step of steps) {
            await apply(store, counts, step, clusterIds, (now += 1000));
            expect(memoryView(counts, clusterIds)).toEqual(await storeTruth(store, clusterIds));
          }
        } finally {
          await counts.stop();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('load the fleet at start through a worker thread with their own connection, and a reconcile with nothing changed corrects nothing', async () => {
    let now = 1_000_000;
    const steps = fc.sample(stepArb, { numRuns: 80, seed: 7 });
    const building = countsOn(store, true);
    await building.start();
    for (const step of steps) await apply(store, building, step, clusterIds, (now += 1000));
    await building.stop();

    const loaded = countsOn(store);
    await loaded.start();
    try {
      expect(loaded.tallies().length).toBeGreaterThan(0);
      expect(memoryView(loaded, clusterIds)).toEqual(await storeTruth(store, clusterIds));
      expect(await loaded.reconcile()).toBe(0);
    } finally {
      await loaded.stop();
    }
  });

  it("take in another replica's changes at the next reconcile", async () => {
    const counts = countsOn(store);
    await counts.start();
    try {
      // Changes this replica was not told about: a registration and an admin's edit through another replica.
      const result = await store.registerNode(registration(clusterIds[0]!, { hostname: 'elsewhere', facts: { capacity: { cpuCapacity: 8, memCapacity: 8 } } }));
      expect(result.outcome).toBe('registered');
      expect(counts.tallyOf(clusterIds[0]!)).toBeUndefined();
      expect(await counts.reconcile()).toBe(1);
      expect(counts.tallyOf(clusterIds[0]!)).toMatchObject({ instances: 1, running: 1, capacity: 8 });
      if (result.outcome !== 'registered') return;
      await store.updateInstance(result.instanceId, { enabled: false }, 2_000_000);
      await store.terminateNode(result.node.nodeId, 'Shutdown', 2_000_000);
      await store.deleteInstance(result.instanceId);
      expect(await counts.reconcile()).toBe(1);
      expect(counts.tallies()).toEqual([]);
    } finally {
      await counts.stop();
    }
  });

  it('keep a change made here while a reconcile was reading the store', async () => {
    const registeredMeanwhile = { instanceId: 0 };
    const counts = new FleetCounts({
      store,
      logger,
      reconcileMs: 3_600_000,
      knownInstanceOf: () => undefined,
      // A scan that read the store before the registration below.
      scan: () => {
        const before = countsOn(store, true);
        const result = before.start().then(async () => {
          const outcome = await store.registerNode(registration(clusterIds[1]!, { hostname: 'meanwhile' }));
          if (outcome.outcome === 'registered') {
            registeredMeanwhile.instanceId = outcome.instanceId;
            counts.registered(outcome.instanceId, clusterIds[1]!, {});
          }
          return emptySnapshotOf();
        });
        return { result, cancel: async () => before.stop() };
      },
    });
    await counts.start();
    expect(registeredMeanwhile.instanceId).toBeGreaterThan(0);
    expect(counts.tallyOf(clusterIds[1]!)).toMatchObject({ instances: 1, running: 1 });
    expect(memoryView(counts, clusterIds)).toEqual(await storeTruth(store, clusterIds));
  });

  it('load an in-memory SQLite store through its own queries', async () => {
    const memory = new SqliteStore(':memory:');
    await memory.migrate();
    const clusterId = (await memory.ensureCluster('default', 0)).id;
    const result = await memory.registerNode(registration(clusterId, { labels: { region: 'eu' }, facts: { capacity: { cpuCapacity: 4, memCapacity: 6 }, jobsRunning: 2 } }));
    expect(result.outcome).toBe('registered');
    const counts = countsOn(memory);
    await counts.start();
    try {
      expect(counts.tallies()).toEqual(await memory.tallyInstances());
      expect(counts.regionLabels(clusterId)).toEqual(['eu']);
    } finally {
      await counts.stop();
      await memory.close();
    }
  });
});

/** A complete snapshot of an empty store. */
function emptySnapshotOf() {
  const empty = { ids: new Int32Array(0), clusters: new Int32Array(0), flags: new Uint8Array(0), regions: new Int32Array(0), regionNames: [''], complete: true };
  return { ...empty, cpu: new Float64Array(0), mem: new Float64Array(0), adjustment: new Float64Array(0), jobs: new Float64Array(0) };
}

describe('the coordinator with fleet counts', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ heartbeatInterval: 10, heartbeatTimeout: 35 });
    h.passGrace();
  });
  afterEach(() => h.close());

  it('answers the clusters API, the instances count and the monitor from its counts, never counting the fleet in the store', async () => {
    const tally = vi.spyOn(h.store, 'tallyInstances');
    const regions = vi.spyOn(h.store, 'regionLabels');
    const countInstances = vi.spyOn(h.store, 'countInstances');
    const facts = { capacity: { cpuCapacity: 16, memCapacity: 80 }, jobsRunning: 2 };
    const silent = await h.register({ hostname: 'silent', facts, labels: { region: 'eu' } });
    const leaving = await h.register({ hostname: 'leaving', facts });
    const live = await h.register({ hostname: 'live', facts, labels: { region: 'us' } });
    await request(h, 'POST', '/api/v2/instances/', ADMIN, { hostname: 'planned', node_state: 'provision-fail' });
    await h.call('cluster_DeregisterNode', leaving.nodeToken, { reason: 'Shutdown' });
    await h.call('cluster_ReportNodeHeartbeat', live.nodeToken, { health: { status: 'critical', checks: [] } });
    h.clock.advance(40_000);
    await h.call('cluster_ReportNodeHeartbeat', live.nodeToken, {});
    await h.call('cluster_CleanupInactiveNodes', ADMIN, {});
    expect((await h.call('cluster_GetDetails', ADMIN, { includeTerminated: true })).body.nodes).toContainEqual(
      expect.objectContaining({ nodeId: silent.nodeId, terminationReason: 'HeartbeatTimeout' }),
    );

    const expected = { nodes_count: 4, running_nodes_count: 1, failed_nodes_count: 1, failed_to_install_nodes_count: 1, disabled_nodes_count: 0, regions: ['eu', 'us'] };
    await vi.waitFor(async () => expect((await request(h, 'POST', '/runtime/api/v1/clusters', ADMIN, {})).body.clusters[0]).toMatchObject(expected));
    expect((await request(h, 'GET', '/api/v2/instances/?enabled=true&page_size=1', ADMIN)).body.count).toBe(4);
    const event = await h.coordinator.monitor.check();
    expect(event?.components.runner.selfInfo).toMatch(/^1 of 2 expected nodes Active; 1 timed out; 1 failing health checks/);
    expect(event?.components.runner.resourcesInfo).toBe('4 instances (0 disabled); capacity 0, consumed 2');
    expect([tally.mock.calls, regions.mock.calls, countInstances.mock.calls]).toEqual([[], [], []]);
    tally.mockRestore();
    expect((await h.store.tallyInstances())[0]).toMatchObject({ instances: 4, running: 1, timedOut: 1, failing: 1, failedToInstall: 1, capacity: 0, consumed: 2 });
  });
});
