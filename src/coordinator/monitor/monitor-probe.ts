import { toRfc3339 } from '../../shared/clock.ts';
import type { Clock } from '../../shared/clock.ts';
import { VERSION } from '../../shared/version.ts';
import { capacityOf, type InstanceSnapshot, isRunning } from '../instances/instance-view.ts';
import { loadSnapshots } from '../instances/snapshot-loader.ts';
import type { HeartbeatBuffer } from '../state/heartbeat-buffer.ts';
import type { Store } from '../store/store.ts';
import type { Sweeper } from '../sweeper/sweeper.ts';
import type { MonitorObservation } from './component-checks.ts';

export interface MonitorProbeDeps {
  store: Store;
  clock: Clock;
  heartbeats: HeartbeatBuffer;
  sweeper: Sweeper;
  accepting: () => boolean;
  isLeader: () => boolean;
  startedAt: number;
}

/** An instance is expected to run while enabled and its last node did not leave on purpose. */
const expected = (snapshot: InstanceSnapshot) =>
  snapshot.instance.enabled && (isRunning(snapshot) || snapshot.latestNode?.terminationReason === 'HeartbeatTimeout');

function observeRunner(snapshots: readonly InstanceSnapshot[]): MonitorObservation['runner'] {
  const running = snapshots.filter(isRunning);
  return {
    instances: snapshots.length,
    expected: snapshots.filter(expected).length,
    active: running.filter((snapshot) => snapshot.instance.enabled).length,
    timedOut: snapshots.filter((snapshot) => snapshot.latestNode?.terminationReason === 'HeartbeatTimeout').length,
    failing: running.filter((snapshot) => snapshot.instance.healthStatus === 'critical').length,
    disabled: snapshots.filter((snapshot) => !snapshot.instance.enabled).length,
    capacity: running.reduce((sum, snapshot) => sum + capacityOf(snapshot), 0),
    consumed: running.reduce((sum, snapshot) => sum + (snapshot.instance.facts.jobsRunning ?? 0), 0),
  };
}

/** One look at the coordinator's three components (design.md: api, compiler, runner). */
export async function observe(deps: MonitorProbeDeps): Promise<MonitorObservation> {
  const { store, clock, sweeper } = deps;
  const started = performance.now();
  let storeError: string | null = null;
  try {
    await store.ping();
  } catch (error) {
    storeError = (error as Error).message;
  }
  const pingMs = Math.round(performance.now() - started);
  const snapshots = storeError === null ? await loadSnapshots(store, deps.heartbeats, await store.listInstances({})) : [];
  const holds = sweeper.holds();
  const last = sweeper.lastResult;
  return {
    api: { accepting: deps.accepting(), version: VERSION, uptimeSecs: Math.floor((clock.now() - deps.startedAt) / 1000), leader: deps.isLeader() },
    compiler: {
      store: store.kind,
      storeError,
      pingMs,
      lastSweep: last ? { durationMs: last.durationMs, terminated: last.terminated.length, skipped: last.skipped ?? null } : null,
      massSilenceHolds: holds.massSilence.length,
      graceUntil: holds.graceUntil === null ? null : toRfc3339(holds.graceUntil),
    },
    runner: observeRunner(snapshots),
  };
}
