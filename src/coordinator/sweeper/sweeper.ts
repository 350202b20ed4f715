import type { ScheduledTask } from 'node-cron';
import { scheduleCron } from '../../shared/cron-task.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { TimeoutSettings } from '../config.ts';
import type { Store } from '../store/store.ts';
import { type HoldsView, SafetyHolds } from './safety-holds.ts';
import { type ClusterHold, type ClusterSilence, decideSweep } from './sweep-decision.ts';
import { StallWatch } from './stall-watch.ts';

/** Expired nodes one sweep reads and terminates per cluster; the rest follow on the next sweep. */
const DEFAULT_PAGE_SIZE = 50_000;
/** Deadline sweeps come at most this often: a crowd of deadlines is swept together. */
const DEADLINE_MIN_GAP_MS = 100;
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
}

export interface SweeperDeps {
  store: Store;
  clock: Clock;
  settings: TimeoutSettings;
  logger: Logger;
  schedule: string;
  /** Writes this replica's buffered heartbeats: before the guard counts, and on a clean-up through a replica that does not sweep. */
  flushHeartbeats: () => Promise<void>;
  /** The newest heartbeat of a node still in this replica's buffer (not yet in the store). */
  bufferedHeartbeat: (nodeId: string) => number | undefined;
  /** Told about every node this sweeper terminated. */
  onTerminated: (nodeIds: readonly string[]) => void;
  /** Told about every stall of the coordinator's own progress. */
  onStall?: (gapMs: number) => void;
  /** With several replicas only the leader sweeps; absent means always. */
  isLeader?: () => boolean;
  /** Several replicas share the store: lift requests made through another replica arrive through it. */
  sharedStore?: boolean;
  /** Expired nodes terminated per cluster and sweep (50,000); the guard's counts never depend on it. */
  pageSize?: number;
}

export interface LiftResult {
  graceLifted: boolean;
  clustersReleased: number[];
  /** False: this replica does not sweep; the request went to the sweeping replica through the store. */
  appliedHere: boolean;
}

/**
 * Runs the sweep on a node-cron schedule, at the next silent node's deadline, and on demand
 * (cluster_CleanupInactiveNodes). It distrusts itself: after any gap in the coordinator's own
 * progress (start, takeover, store outage, stall) nobody is timed out for the grace, and a
 * cluster that went mostly silent at once is held (the mass-silence guard, sweep-decision.ts).
 */
export class Sweeper {
  private readonly safety: SafetyHolds;
  private readonly stallWatch: StallWatch;
  private task: ScheduledTask | undefined;
  /** A sweep due at the next node's deadline, when that comes before the next tick. */
  private deadlineTimer: NodeJS.Timeout | undefined;
  private periodMs = 1000;
  private startedAt = 0;
  /** When this replica last saw another replica sweep: its own sweeps are due only from then. */
  private sweepingSince = 0;
  private running: Promise<SweepResult> | undefined;
  /** The store's lift-request counter as last seen; undefined until read after start or a grace. */
  private liftSequence: number | undefined;
  lastResult: SweepResult | undefined;

  constructor(private readonly deps: SweeperDeps) {
    this.safety = new SafetyHolds(deps.settings, deps.logger);
    this.stallWatch = new StallWatch({
      clock: deps.clock,
      periodMs: STALL_WATCH_PERIOD_MS,
      toleranceMs: deps.settings.lateThresholdMs,
      onStall: (gapMs) => {
        this.deps.onStall?.(gapMs);
        this.grantGrace('stall', { gapMs });
      },
    });
  }

  /** Starts the grace window, the stall watch and the schedule. */
  start(): void {
    this.startedAt = this.deps.clock.now();
    this.grantGrace('startup');
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

  /**
   * No node is timed out for a timeout plus the agents' backoff cap from now: after start, a
   * takeover, a store outage or a stall, every agent has retried and been heard by then.
   */
  grantGrace(why: string, details: Record<string, unknown> = {}): void {
    const before = this.safety.grace;
    this.safety.grantGrace(why, this.deps.clock.now(), details);
    // Lift requests older than this grace were meant for an earlier sweeper, not for this one.
    if (this.safety.grace !== before) this.liftSequence = undefined;
  }

  private isSweeping(): boolean {
    return !this.deps.isLeader || this.deps.isLeader();
  }

  /**
   * An operator lifts every safety hold: applied at once when this replica sweeps; otherwise
   * recorded in the shared store, and the sweeping replica applies it on its next tick.
   */
  async requestLift(): Promise<LiftResult> {
    if (this.isSweeping()) return { ...this.safety.lift(this.deps.clock.now()), appliedHere: true };
    await this.deps.store.requestHoldLift(this.deps.clock.now());
    return { graceLifted: false, clustersReleased: [], appliedHere: false };
  }

  /** Applies a lift requested through another replica since this sweeper last looked. */
  private async applyRequestedLift(): Promise<void> {
    if (!this.deps.sharedStore) return;
    const sequence = await this.deps.store.holdLiftSequence();
    const seen = this.liftSequence;
    this.liftSequence = sequence;
    if (seen !== undefined && sequence > seen) this.safety.lift(this.deps.clock.now());
  }

  /** The holds in force, for /readyz, /metrics and the monitor. */
  holds(): HoldsView & { sweeping: boolean } {
    return { sweeping: this.isSweeping(), ...this.safety.view(this.deps.clock.now()) };
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
      return { terminated: [], holds: [], skipped: 'not-leader', durationMs: 0 };
    }
    await this.applyRequestedLift();
    return this.sweep();
  }

  /**
   * One sweep now (also cluster_CleanupInactiveNodes); concurrent calls share one run. On a
   * replica that does not sweep it only writes this replica's buffered heartbeats, so the
   * sweeping replica (which sweeps every tick) judges them, under its own grace and holds.
   */
  async sweep(): Promise<SweepResult> {
    if (!this.isSweeping()) {
      await this.deps.flushHeartbeats();
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

  /**
   * The ticks alone would find a node up to a whole period after its deadline; when the next
   * deadline (the oldest Active heartbeat + timeout) comes before the next tick, a sweep is due
   * then too. Healthy nodes' deadlines lie a timeout ahead, so this fires only for silent ones.
   */
  private async armDeadline(): Promise<void> {
    if (!this.task || !this.isSweeping()) return this.disarmDeadline();
    const oldest = await this.deps.store.oldestActiveHeartbeat();
    // From here on synchronous: two sweeps ending together leave one timer, and a sweeper
    // stopped during the query arms nothing.
    this.disarmDeadline();
    if (oldest === null || !this.task) return;
    const now = this.deps.clock.now();
    const due = oldest + this.deps.settings.timeoutMs + 1;
    if (due - now >= this.periodMs) return;
    const last = this.lastResult;
    // A deadline that passed while the sweep ran is swept soon; one the sweep held (grace, a
    // mass-silence hold) is left to the ticks, or this would sweep every few milliseconds.
    if (due <= now && (last?.skipped !== undefined || (last?.holds.length ?? 0) > 0)) return;
    const at = Math.max(due, now, (last?.finishedAt ?? 0) + DEADLINE_MIN_GAP_MS);
    this.deadlineTimer = setTimeout(() => void this.sweep().catch((error: unknown) => this.deps.logger.error('sweep failed', { error })), at - now);
    this.deadlineTimer.unref();
  }

  private disarmDeadline(): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  private async sweepOnce(): Promise<SweepResult> {
    const started = performance.now();
    // Whatever runs first after a stall (this sweep, a tick, a timer) must know of it before judging.
    this.stallWatch.check();
    const now = this.deps.clock.now();
    const cutoff = now - this.deps.settings.timeoutMs;
    this.safety.noteGraceEnd(now);
    const clusters = now < this.safety.grace ? [] : await this.silentClusters(now, cutoff);
    const decision = decideSweep({ now, clusters, settings: this.deps.settings, graceUntil: this.safety.grace, guard: this.safety.guard });
    this.safety.apply(decision, now);
    const terminated = await this.terminate(decision.terminate, cutoff, now);
    if (terminated.length > 0) {
      this.deps.onTerminated(terminated);
      this.deps.logger.info('timed out silent nodes', { count: terminated.length, nodeIds: terminated.slice(0, 20) });
    }
    const holds = this.safety.view(now).massSilence;
    const result: SweepResult = { terminated, holds, durationMs: performance.now() - started, finishedAt: this.deps.clock.now() };
    if (decision.skipped) result.skipped = decision.skipped;
    this.lastResult = result;
    return result;
  }

  /**
   * The exact state of every cluster with an expired node. A sweep with nothing expired costs one
   * index lookup; otherwise this replica's buffered heartbeats are written first, so no node
   * that heartbeated counts as silent, and the counts are aggregates, whatever the page size.
   */
  private async silentClusters(now: number, cutoff: number): Promise<ClusterSilence[]> {
    const { store, settings } = this.deps;
    const oldest = await store.oldestActiveHeartbeat();
    if (oldest === null || oldest >= cutoff) return [];
    await this.deps.flushHeartbeats();
    const silence = await store.silenceByCluster(cutoff, now - settings.overdueAfterMs);
    if (silence.length === 0) return [];
    const ids = silence.map((cluster) => cluster.clusterId);
    const active = await store.countActiveNodes(ids);
    const timedOut = await store.countTimedOut(new Map(ids.map((id) => [id, this.safety.windowStart(id, now)])));
    return silence.map((cluster) => ({ ...cluster, active: active.get(cluster.clusterId) ?? 0, timedOut: timedOut.get(cluster.clusterId) ?? 0 }));
  }

  /** One page of each cluster's expired nodes; a node with a newer heartbeat in the buffer is alive. */
  private async terminate(clusterIds: readonly number[], cutoff: number, now: number): Promise<string[]> {
    const terminated: string[] = [];
    for (const clusterId of clusterIds) {
      const expired = (await this.deps.store.findExpiredNodes(cutoff, this.deps.pageSize ?? DEFAULT_PAGE_SIZE, clusterId)).filter(
        (node) => (this.deps.bufferedHeartbeat(node.nodeId) ?? 0) < cutoff,
      );
      if (expired.length > 0) terminated.push(...(await this.deps.store.terminateExpired(expired.map((node) => node.nodeId), cutoff, now)));
    }
    return terminated;
  }
}
