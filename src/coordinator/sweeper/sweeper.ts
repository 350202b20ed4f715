import cron, { type ScheduledTask } from 'node-cron';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { TimeoutSettings } from '../config.ts';
import type { Store } from '../store/store.ts';
import { type ClusterHold, type SafetyState, type SkipReason, decideSweep } from './sweep-decision.ts';

/** One sweep at most terminates this many nodes; the rest follow on the next tick. */
const SWEEP_BATCH = 50_000;

export interface SweepResult {
  terminated: string[];
  holds: ClusterHold[];
  skipped?: SkipReason;
  durationMs: number;
}

export interface SweeperDeps {
  store: Store;
  clock: Clock;
  settings: TimeoutSettings;
  logger: Logger;
  schedule: string;
  /** Writes pending heartbeats first, so the sweep judges the newest timestamps. */
  flushHeartbeats: () => Promise<void>;
  /** Told about every node this sweeper terminated. */
  onTerminated: (nodeIds: readonly string[]) => void;
  /** With several replicas only the leader's scheduled ticks sweep; absent means always. */
  isLeader?: () => boolean;
}

/**
 * Runs the sweep on a node-cron schedule and on demand (cluster_CleanupInactiveNodes). It
 * distrusts itself: a tick that ran late skips its terminations, and for one full timeout after
 * it starts (or is granted grace again) nobody is timed out.
 */
export class Sweeper {
  private readonly safety: SafetyState = { graceUntil: 0, heldSince: new Map(), lifted: new Set() };
  private task: ScheduledTask | undefined;
  private lastTickAt: number | undefined;
  private periodMs = 1000;
  private running: Promise<SweepResult> | undefined;
  private graceLogged = false;
  lastResult: SweepResult | undefined;

  constructor(private readonly deps: SweeperDeps) {}

  /** Starts the grace window and the schedule. */
  start(): void {
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
    await this.running?.catch(() => undefined);
  }

  /** No node is timed out for one full timeout from now: after start, a takeover or a store outage. */
  grantGrace(why: string): void {
    const until = this.deps.clock.now() + this.deps.settings.timeoutMs;
    if (until <= this.safety.graceUntil) return;
    this.safety.graceUntil = until;
    this.graceLogged = true;
    this.deps.logger.warn('timeout grace started: no node is timed out until it ends', { why, until: new Date(until).toISOString() });
  }

  /** An operator lifts every safety hold: grace ends now and held terminations go ahead. */
  liftHolds(): { graceLifted: boolean; clustersReleased: number[] } {
    const now = this.deps.clock.now();
    const graceLifted = this.safety.graceUntil > now;
    this.safety.graceUntil = now;
    const clustersReleased = [...this.safety.heldSince.keys()];
    for (const clusterId of clustersReleased) this.safety.lifted.add(clusterId);
    this.deps.logger.warn('safety holds lifted by an operator', { graceLifted, clustersReleased });
    return { graceLifted, clustersReleased };
  }

  /** The holds in force, for /readyz and the monitor. */
  holds(): { graceUntil: number | null; massSilence: { clusterId: number; since: number }[] } {
    const now = this.deps.clock.now();
    return {
      graceUntil: this.safety.graceUntil > now ? this.safety.graceUntil : null,
      massSilence: [...this.safety.heldSince].map(([clusterId, since]) => ({ clusterId, since })),
    };
  }

  /** A scheduled tick: late if the gap since the previous tick exceeds the period by the threshold. */
  async tick(): Promise<SweepResult> {
    const now = this.deps.clock.now();
    if (this.deps.isLeader && !this.deps.isLeader()) {
      // Another replica sweeps; forget the tick history so the first tick after a takeover is not "late".
      this.lastTickAt = undefined;
      return { terminated: [], holds: [], skipped: 'not-leader', durationMs: 0 };
    }
    const late = this.lastTickAt !== undefined && now - this.lastTickAt > this.periodMs + this.deps.settings.lateThresholdMs;
    if (late) this.deps.logger.warn('sweeper tick ran late; skipping this round of terminations', { gapMs: now - (this.lastTickAt ?? now) });
    this.lastTickAt = now;
    return this.sweep(late);
  }

  /** One sweep now (also cluster_CleanupInactiveNodes); concurrent calls share one run. */
  sweep(late = false): Promise<SweepResult> {
    this.running ??= this.sweepOnce(late).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweepOnce(late: boolean): Promise<SweepResult> {
    const started = performance.now();
    await this.deps.flushHeartbeats();
    const now = this.deps.clock.now();
    const cutoff = now - this.deps.settings.timeoutMs;
    this.noteGraceEnd(now);
    const expired = await this.deps.store.findExpiredNodes(cutoff, SWEEP_BATCH);
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
    const result: SweepResult = { terminated, holds: decision.holds, durationMs: performance.now() - started };
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
      if (!this.safety.heldSince.has(hold.clusterId)) {
        this.safety.heldSince.set(hold.clusterId, hold.since);
        this.deps.logger.warn('mass-silence guard: holding terminations; the coordinator network is the likelier culprit', {
          clusterId: hold.clusterId,
          silent: hold.silent,
          active: hold.active,
          threshold: this.deps.settings.massSilence.threshold,
        });
      }
    }
    for (const clusterId of released) {
      this.safety.heldSince.delete(clusterId);
      this.safety.lifted.delete(clusterId);
      this.deps.logger.info('mass-silence guard: hold ended', { clusterId });
    }
  }
}
