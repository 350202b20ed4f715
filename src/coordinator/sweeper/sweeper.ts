import type { ScheduledTask } from 'node-cron';
import { scheduleCron } from '../../shared/cron-task.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Component } from '../component-runner.ts';
import type { TimeoutSettings } from '../config.ts';
import type { Store } from '../store/store.ts';
import { ClusterSettings } from './cluster-settings.ts';
import { deadlineSweepAt } from './deadline-sweep.ts';
import { HoldLifts, type LiftResult } from './hold-lifts.ts';
import { MaintenanceEnds } from './maintenance-ends.ts';
import type { HoldsView, SafetyHolds } from './safety-holds.ts';
import type { ClusterHold } from './sweep-decision.ts';
import { SilencePacing } from './silence-pacing.ts';
import { type HeartbeatSource, type SweepPassDeps, sweepPass } from './sweep-pass.ts';
import { StallWatch } from './stall-watch.ts';

/** Expired nodes one sweep reads and terminates per cluster; the rest follow on the next sweep. */
const DEFAULT_PAGE_SIZE = 50_000;
/** How often the stall watch looks at the clock. */
const STALL_WATCH_PERIOD_MS = 250;

export type SkipReason = 'grace' | 'not-leader';

export interface SweepResult {
  terminated: string[];
  holds: ClusterHold[];
  skipped?: SkipReason;
  durationMs: number;
  /** Coordinator time when the sweep ended. */
  finishedAt?: number;
  /** Coordinator time the sweep judged by. */
  judgedAt?: number;
}

export interface SweeperDeps {
  store: Store;
  clock: Clock;
  settings: TimeoutSettings;
  logger: Logger;
  schedule: string;
  /** The grace and the mass-silence guard's state, shared with whatever grants a grace. */
  holds: SafetyHolds;
  /** Writes this replica's heartbeats (before the guard counts, and on a clean-up through a replica that does not sweep) and knows each node's newest. */
  heartbeats: HeartbeatSource;
  /** Told about every node this sweeper terminated, each with the milliseconds from its deadline to its termination's commit. */
  onTerminated: (nodeIds: readonly string[], detectionDelaysMs: readonly number[]) => void;
  /** Told about every stall of the coordinator's own progress. */
  onStall?: (gapMs: number) => void;
  /** Told about every sweep that judged (not those a replica that does not sweep skipped). */
  onSwept?: (result: SweepResult) => void;
  /** Told the event-loop time of every count the mass-silence guard read (not of a count reused under a hold). */
  onSilenceCounted?: (durationMs: number) => void;
  /** With several replicas only the leader sweeps; absent means always. */
  isLeader?: () => boolean;
  /** Several replicas share the store: lift requests made through another replica arrive through it. */
  sharedStore?: boolean;
  /** Expired nodes terminated per cluster and sweep (50,000); the guard's counts never depend on it. */
  pageSize?: number;
  /** This replica's name, recorded with each termination it decides. */
  replica?: string | undefined;
  /** Told when a sweep recorded transitions besides terminations (maintenance windows that ended). */
  onTransition?: () => void;
}

/**
 * Runs the sweep (sweep-pass.ts) on a node-cron schedule, at the next silent node's deadline,
 * and on demand (cluster_CleanupInactiveNodes), on the sweeping replica only. It distrusts
 * itself: a stall watch grants a grace after any gap in the coordinator's own progress, and
 * every sweep looks at the watch before it judges.
 */
export class Sweeper implements Component {
  readonly name = 'sweeper';
  private readonly stallWatch: StallWatch;
  private readonly lifts: HoldLifts;
  private readonly pass: SweepPassDeps;
  private readonly clusters: ClusterSettings;
  private readonly maintenanceEnds: MaintenanceEnds;
  private task: ScheduledTask | undefined;
  /** A sweep due at the next node's deadline, when that comes before the next tick. */
  private deadlineTimer: NodeJS.Timeout | undefined;
  private periodMs = 1000;
  private startedAt = 0;
  /** When this replica last saw another replica sweep: its own sweeps are due only from then. */
  private sweepingSince = 0;
  private running: Promise<SweepResult> | undefined;
  lastResult: SweepResult | undefined;

  constructor(private readonly deps: SweeperDeps) {
    const { store, settings, logger, holds, heartbeats, onTerminated } = deps;
    this.clusters = new ClusterSettings(settings, store);
    this.maintenanceEnds = new MaintenanceEnds(store, () => deps.onTransition?.());
    this.pass = {
      store,
      clock: deps.clock,
      settings,
      clusters: this.clusters,
      logger,
      holds,
      pacing: new SilencePacing(),
      heartbeats,
      onTerminated,
      onSilenceCounted: deps.onSilenceCounted,
      pageSize: deps.pageSize ?? DEFAULT_PAGE_SIZE,
      replica: deps.replica,
    };
    this.lifts = new HoldLifts({ store, clock: deps.clock, holds, sharedStore: deps.sharedStore ?? false });
    this.stallWatch = new StallWatch({
      clock: deps.clock,
      periodMs: STALL_WATCH_PERIOD_MS,
      toleranceMs: deps.settings.lateThresholdMs,
      onStall: (gapMs) => {
        this.deps.onStall?.(gapMs);
        this.deps.holds.grantGrace('stall', { gapMs });
      },
    });
  }

  /** Starts the grace window, the stall watch and the schedule. */
  start(): void {
    this.startedAt = this.deps.clock.now();
    this.deps.holds.grantGrace('startup');
    this.stallWatch.start();
    // The stall watch reports a stall once; node-cron's line per missed tick would only repeat it.
    this.task = scheduleCron(this.deps.schedule, () => void this.tick().catch((error: unknown) => this.deps.logger.error('sweep failed', { error })), {
      name: 'sweeper',
      logger: this.deps.logger,
      quietMissedRuns: true,
    });
    const [first, second] = this.task.getNextRuns(2);
    if (first && second) this.periodMs = second.getTime() - first.getTime();
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
    this.stallWatch.stop();
    this.disarmDeadline();
    await this.running?.catch(() => undefined);
  }

  private isSweeping(): boolean {
    return !this.deps.isLeader || this.deps.isLeader();
  }

  /** An operator lifts every safety hold (hold-lifts.ts): here when this replica sweeps, else through the store. */
  requestLift(): Promise<LiftResult> {
    return this.lifts.request(this.isSweeping());
  }

  /** The holds in force, for /readyz, /metrics and the monitor. */
  holds(): HoldsView & { sweeping: boolean } {
    return { sweeping: this.isSweeping(), ...this.deps.holds.view(this.deps.clock.now()) };
  }

  /**
   * How far past due the next sweep is: beyond one period and the late threshold since the last
   * sweep ended (or since start). Null while this replica does not sweep or no schedule runs.
   */
  overdueMs(): number | null {
    if (!this.task || !this.isSweeping()) return null;
    const since = Math.max(this.lastResult?.finishedAt ?? this.startedAt, this.sweepingSince);
    return Math.max(0, this.deps.clock.now() - since - this.periodMs - this.deps.settings.lateThresholdMs);
  }

  /** A scheduled tick. */
  async tick(): Promise<SweepResult> {
    if (!this.isSweeping()) {
      this.sweepingSince = this.deps.clock.now();
      this.maintenanceEnds.forget();
      return { terminated: [], holds: [], skipped: 'not-leader', durationMs: 0 };
    }
    await this.lifts.applyRequested();
    return this.sweep();
  }

  /**
   * One sweep now (also cluster_CleanupInactiveNodes); concurrent calls share one run. On a
   * replica that does not sweep it only writes this replica's heartbeats, so the sweeping
   * replica (which sweeps every tick) judges them, under its own grace and holds.
   */
  async sweep(): Promise<SweepResult> {
    if (!this.isSweeping()) {
      await this.deps.heartbeats.flush();
      return { terminated: [], holds: [], skipped: 'not-leader', durationMs: 0 };
    }
    this.running ??= this.sweepOnce().finally(() => {
      this.running = undefined;
    });
    const result = await this.running;
    // A store failure here shows in the next sweep; until then the ticks go on.
    await this.armDeadline().catch(() => undefined);
    return result;
  }

  private async sweepOnce(): Promise<SweepResult> {
    const started = performance.now();
    // Whatever runs first after a stall (this sweep, a tick, a timer) must know of it before judging.
    this.stallWatch.check();
    const now = this.deps.clock.now();
    // A maintenance window that passed is an entry of the log; a failure here must not stop the sweep.
    await this.maintenanceEnds.record(now).catch((error: unknown) => this.deps.logger.warn('recording ended maintenance windows failed', { error }));
    const outcome = await sweepPass(this.pass, now);
    this.lastResult = { ...outcome, durationMs: performance.now() - started, finishedAt: this.deps.clock.now(), judgedAt: now };
    this.deps.onSwept?.(this.lastResult);
    return this.lastResult;
  }

  /** Arms a sweep at the next silent node's deadline when that comes before the next tick (deadline-sweep.ts). */
  private async armDeadline(): Promise<void> {
    if (!this.task || !this.isSweeping()) return this.disarmDeadline();
    const oldestHeartbeat = await this.deps.store.oldestActiveHeartbeat();
    // From here on synchronous: two sweeps ending together leave one timer, and a sweeper
    // stopped during the query arms nothing.
    this.disarmDeadline();
    if (!this.task) return;
    const now = this.deps.clock.now();
    // The oldest heartbeat may be a longer-timeout cluster's: the shortest timeout gives the earliest possible deadline.
    const at = deadlineSweepAt({ oldestHeartbeat, now, timeoutMs: this.clusters.shortest.timeoutMs, periodMs: this.periodMs, lastSweep: this.lastResult });
    if (at === undefined) return;
    this.deadlineTimer = setTimeout(() => void this.sweep().catch((error: unknown) => this.deps.logger.error('sweep failed', { error })), at - now);
    this.deadlineTimer.unref();
  }

  private disarmDeadline(): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }
}
