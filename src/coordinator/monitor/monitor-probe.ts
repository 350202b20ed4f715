import { toRfc3339 } from '../../shared/clock.ts';
import type { Clock } from '../../shared/clock.ts';
import { VERSION } from '../../shared/version.ts';
import type { FleetCounts } from '../fleet/fleet-counts.ts';
import type { AgentReports } from '../state/agent-reports.ts';
import type { InstanceTally, Store } from '../store/store.ts';
import type { Sweeper } from '../sweeper/sweeper.ts';
import type { MonitorObservation } from './component-checks.ts';

export interface MonitorProbeDeps {
  store: Store;
  clock: Clock;
  agentReports: AgentReports;
  /** The fleet's counts, kept in memory: a check never counts the fleet in the store. */
  fleet: Pick<FleetCounts, 'tallies'> & Partial<Pick<FleetCounts, 'inMaintenance'>>;
  sweeper: Sweeper;
  accepting: () => boolean;
  isLeader: () => boolean;
  startedAt: number;
  /** Replicas seen alive at or after this time are counted. */
  replicasSeenSince: () => number;
}

/** The fleet over every cluster, from the per-cluster tallies. */
function observeRunner(tallies: readonly InstanceTally[], agents: AgentReports, inMaintenance: number): MonitorObservation['runner'] {
  const sum = (key: keyof InstanceTally) => tallies.reduce((total, tally) => total + tally[key], 0);
  return {
    instances: sum('instances'),
    expected: sum('expected'),
    active: sum('runningEnabled'),
    timedOut: sum('timedOut'),
    failing: sum('failing'),
    disabled: sum('disabled'),
    capacity: sum('capacity'),
    consumed: sum('consumed'),
    stalledAgents: agents.stalled,
    inMaintenance,
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
  const replicas = storeError === null ? await store.countReplicas(deps.replicasSeenSince()) : 0;
  const holds = sweeper.holds();
  const last = sweeper.lastResult;
  return {
    api: { accepting: deps.accepting(), version: VERSION, uptimeSecs: Math.floor((clock.now() - deps.startedAt) / 1000), leader: deps.isLeader(), replicas },
    compiler: {
      store: store.kind,
      storeError,
      pingMs,
      lastSweep: last ? { durationMs: last.durationMs, terminated: last.terminated.length, skipped: last.skipped ?? null } : null,
      sweepOverdueMs: sweeper.overdueMs(),
      massSilenceHolds: holds.massSilence.length,
      graceUntil: holds.graceUntil === null ? null : toRfc3339(holds.graceUntil),
      graceReason: holds.graceWhy,
    },
    runner: observeRunner(deps.fleet.tallies(), deps.agentReports, deps.fleet.inMaintenance?.() ?? 0),
  };
}
