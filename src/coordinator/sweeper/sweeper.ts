import cron, { type ScheduledTask } from 'node-cron';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { TimeoutSettings } from '../config.ts';
import type { Store } from '../store/store.ts';
import { type ClusterHold, type SafetyState, type SkipReason, decideSweep } from './sweep-decision.ts';

/** One sweep at most terminates this many nodes; the rest follow on the next tick. */
const SWEEP_BATCH = 50_000;
/** Deadline sweeps come at most this often: a crowd of deadlines is swept together. */
const DEADLINE_MIN_GAP_MS = 100;

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
  /** Writes this replica's buffered heartbeats (a clean-up through a replica that does not sweep). */
  flushHeartbeats: () => Promise<void>;
  /** The newest heartbeat of a node still in this replica's buffer (not yet in the store). */
  bufferedHeartbeat: (nodeId: string) => number | undefined;
  /** Told about every node this sweeper terminated. */
  onTerminated: (nodeIds: readonly string[]) => void;
  /** With several replicas only the leader sweeps; absent means always. */
  isLeader?: () => boolean;
  /** Several replicas share the store: lift requests made through another replica arrive through it. */
  sharedStore?: boolean;
}

export interface LiftResult {
  graceLifted: boolean;
  clustersReleased: number[];
  /** False: this replica does not sweep; the request went to the sweeping replica through the store. */
  appliedHere: boolean;
}

/** A mass-silence hold in force, with the figures that caused it. */
export interface HoldInForce extends ClusterHold {
  /** The hold ends by itself at this time (massSilenceMaxHoldSecs). */
  until: number;
}

/**
 * Runs the sweep on a node-cron schedule and on demand (cluster_CleanupInactiveNodes). It
 * distrusts itself: a tick that ran late skips its terminations, and for one full timeout after
 * it starts (or is granted grace again) nobody is timed out.
 */
export class Sweeper {
  private readonly safety: SafetyState = { graceUntil: 0, held: new Map(), lifted: new Set() };
  private task: ScheduledTask | undefined;
  /** A sweep due at the next node's deadline, when that comes before the next tick. */
  private deadlineTimer: NodeJS.Timeout | undefined;
  private lastTickAt: number | undefined;
  private periodMs = 1000;
  private startedAt = 0;
  /** When this replica last saw another replica sweep: its own sweeps are due only from then. */
  private sweepingSince = 0;
  private running: Promise<SweepResult> | undefined;
  private graceLogged = false;
  /** The store's lift-request counter as last seen; undefined until read after start or a takeover. */
  private liftSequence: number | undefined;
  lastResult: SweepResult | undefined;

  constructor(private readonly deps: SweeperDeps) {}

  /** Starts the grace window and the schedule. */
  start(): void {
    this.startedAt = this.deps.clock.now();
    this.grantGrace('startup');
    this.task = cron.schedule(this.deps.schedule, () => void this.tick().catch((error: unknown) => this.deps.logger.error('sweep failed', { error })), {
      name: 'sweeper',
      noOverlap: true,
    });
    const [first, second] = this.task.getNextRuns(2);
    if (first && second) this.periodMs = second.getTime() - first.getTime();
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
    this.disarmDeadline();
    await this.running?.catch(() => undefined);
  }

  /** No node is timed out for one full timeout from now: after start, a takeover or a store outage. */
  grantGrace(why: string): void {
    const until = this.deps.clock.now() + this.deps.settings.graceMs;
    if (until <= this.safety.graceUntil) return;
    this.safety.graceUntil = until;
    this.graceLogged = true;
    // Lift requests older than this grace were meant for an earlier sweeper, not for this one.
    this.liftSequence = undefined;
    this.deps.logger.warn('timeout grace started: no node is timed out until it ends', { why, until: new Date(until).toISOString() });
  }

  private isSweeping(): boolean {
    return !this.deps.isLeader || this.deps.isLeader();
  }

  /**
   * An operator lifts every safety hold: applied at once when this replica sweeps; otherwise
   * recorded in the shared store, and the sweeping replica applies it on its next tick.
   */
  async requestLift(): Promise<LiftResult> {
    if (this.isSweeping()) return { ...this.liftHolds(), appliedHere: true };
    await this.deps.store.requestHoldLift(this.deps.clock.now());
    return { graceLifted: false, clustersReleased: [], appliedHere: false };
  }

  /** Applies a lift requested through another replica since this sweeper last looked. */
  private async applyRequestedLift(): Promise<void> {
    if (!this.deps.sharedStore) return;
    const sequence = await this.deps.store.holdLiftSequence();
    const seen = this.liftSequence;
    this.liftSequence = sequence;
    if (seen !== undefined && sequence > seen) this.liftHolds();
  }

  /** Grace ends now and held terminations go ahead. */
  private liftHolds(): { graceLifted: boolean; clustersReleased: number[] } {
    const now = this.deps.clock.now();
    const graceLifted = this.safety.graceUntil > now;
    this.safety.graceUntil = now;
    const clustersReleased = [...this.safety.held.keys()];
    for (const clusterId of clustersReleased) this.safety.lifted.add(clusterId);
    this.deps.logger.warn('safety holds lifted by an operator', { graceLifted, clustersReleased });
    return { graceLifted, clustersReleased };
  }

  /** The holds in force, for /readyz and the monitor. */
  holds(): { sweeping: boolean; graceUntil: number | null; massSilence: HoldInForce[] } {
    const now = this.deps.clock.now();
    const maxHoldMs = this.deps.settings.massSilence.maxHoldMs;
    return {
      sweeping: this.isSweeping(),
      graceUntil: this.safety.graceUntil > now ? this.safety.graceUntil : null,
      massSilence: [...this.safety.held.values()].map((hold) => ({ ...hold, until: hold.since + maxHoldMs })),
    };
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

  /** A scheduled tick: late if the gap since the previous tick exceeds the period by the threshold. */
  async tick(): Promise<SweepResult> {
    const now = this.deps.clock.now();
    if (!this.isSweeping()) {
      // Another replica sweeps; forget the tick history so the first tick after a takeover is not "late".
      this.lastTickAt = undefined;
      this.sweepingSince = now;
      return { terminated: [], holds: [], skipped: 'not-leader', durationMs: 0 };
    }
    await this.applyRequestedLift();
    const late = this.lastTickAt !== undefined && now - this.lastTickAt > this.periodMs + this.deps.settings.lateThresholdMs;
    if (late) this.deps.logger.warn('sweeper tick ran late; skipping this round of terminations', { gapMs: now - (this.lastTickAt ?? now) });
    this.lastTickAt = now;
    return this.sweep(late);
  }

  /**
   * One sweep now (also cluster_CleanupInactiveNodes); concurrent calls share one run. On a
   * replica that does not sweep it only writes this replica's buffered heartbeats, so the
   * sweeping replica (which sweeps every tick) judges them, under its own grace and holds.
   */
  async sweep(late = false): Promise<SweepResult> {
    if (!this.isSweeping()) {
      await this.deps.flushHeartbeats();
      return { terminated: [], holds: [], skipped: 'not-leader', durationMs: 0 };
    }
    this.running ??= this.sweepOnce(late).finally(() => {
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
    this.deadlineTimer = setTimeout(() => void this.deadlineSweep(at), at - now);
    this.deadlineTimer.unref();
  }

  private disarmDeadline(): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  /** A deadline sweep distrusts itself like a tick: one that fires late skips its terminations. */
  private async deadlineSweep(dueAt: number): Promise<void> {
    const lateByMs = this.deps.clock.now() - dueAt;
    const late = lateByMs > this.deps.settings.lateThresholdMs;
    if (late) this.deps.logger.warn('deadline sweep ran late; skipping this round of terminations', { lateByMs });
    await this.sweep(late).catch((error: unknown) => this.deps.logger.error('sweep failed', { error }));
  }

  private async sweepOnce(late: boolean): Promise<SweepResult> {
    const started = performance.now();
    const now = this.deps.clock.now();
    const cutoff = now - this.deps.settings.timeoutMs;
    this.noteGraceEnd(now);
    // A candidate whose newer heartbeat is still in the buffer is alive: judged without waiting for a flush.
    const expired = (await this.deps.store.findExpiredNodes(cutoff, SWEEP_BATCH)).filter(
      (node) => (this.deps.bufferedHeartbeat(node.nodeId) ?? 0) < cutoff,
    );
    const clusters = [...new Set(expired.map((node) => node.clusterId))];
    const activeByCluster = clusters.length > 0 ? await this.deps.store.countActiveNodes(clusters) : new Map<number, number>();
    const decision = decideSweep({ now, expired, activeByCluster, late, settings: this.deps.settings, safety: this.safety });
    this.applyHolds(decision.holds, decision.released);
    const terminated =
      decision.terminate.length > 0 ? await this.deps.store.terminateExpired(decision.terminate.map((node) => node.nodeId), cutoff, now) : [];
    if (terminated.length > 0) {
      this.deps.onTerminated(terminated);
      this.deps.logger.info('timed out silent nodes', { count: terminated.length, nodeIds: terminated.slice(0, 20) });
    }
    const result: SweepResult = { terminated, holds: decision.holds, durationMs: performance.now() - started, finishedAt: this.deps.clock.now() };
    if (decision.skipped) result.skipped = decision.skipped;
    this.lastResult = result;
    return result;
  }

  private noteGraceEnd(now: number): void {
    if (this.graceLogged && now >= this.safety.graceUntil) {
      this.graceLogged = false;
      this.deps.logger.info('timeout grace ended');
    }
  }

  private applyHolds(holds: readonly ClusterHold[], released: readonly number[]): void {
    for (const hold of holds) {
      const known = this.safety.held.has(hold.clusterId);
      this.safety.held.set(hold.clusterId, hold);
      if (!known) {
        this.deps.logger.warn('mass-silence guard: holding terminations; the coordinator network is the likelier culprit', {
          clusterId: hold.clusterId,
          silent: hold.silent,
          active: hold.active,
          threshold: this.deps.settings.massSilence.threshold,
        });
      }
    }
    for (const clusterId of released) {
      this.safety.held.delete(clusterId);
      this.safety.lifted.delete(clusterId);
      this.deps.logger.info('mass-silence guard: hold ended', { clusterId });
    }
  }
}
