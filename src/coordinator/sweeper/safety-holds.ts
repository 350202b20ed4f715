import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import { type TimeoutSettings, allSettings } from '../config.ts';
import type { HoldEndReason, NewTransition } from '../store/transitions.ts';
import { type ClusterGuard, type ClusterHold, type SweepDecision, guardWindowStart } from './sweep-decision.ts';

/** A mass-silence hold in force, with the figures that caused it. */
export interface HoldInForce extends ClusterHold {
  /** The hold ends by itself at this time (massSilenceMaxHoldSecs). */
  until: number;
}

export interface HoldsView {
  graceUntil: number | null;
  /** Why the grace in force began: startup, takeover, store outage, stall. */
  graceWhy: string | null;
  massSilence: HoldInForce[];
}

/** Whatever notices a gap in the coordinator's own progress (start, takeover, store outage, stall) tells it here. */
export interface TimeoutGrace {
  /** No node is timed out for a timeout plus the agents' backoff cap from now. */
  grantGrace(why: string, details?: Record<string, unknown>): void;
}

/**
 * The safety holds the sweeper carries from one sweep to the next: the timeout grace after a gap
 * in the coordinator's own progress, and the mass-silence guard's state per cluster. Every
 * change is logged once, when it happens. Built before the sweeper and the leader election, so
 * both can be given it.
 */
export class SafetyHolds implements TimeoutGrace {
  private graceUntil = 0;
  /** When the grace in force began: each cluster's grace lasts its own timeout plus the backoff cap from here (graceUntilFor). */
  private graceFrom = 0;
  /** The longest grace of any cluster: graceUntil is the end of that one. */
  private readonly longestGraceMs: number;
  private graceWhy: string | null = null;
  private graceLogged = false;
  /** Counts the graces granted: lift requests made before the current grace are not for it. */
  private graces = 0;
  private guardState = new Map<number, ClusterGuard>();
  /** When each cluster's last hold ended: its window of recent time-outs starts there at the earliest. */
  private readonly holdEndedAt = new Map<number, number>();

  constructor(
    private readonly settings: TimeoutSettings,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Told of every mass-silence hold that starts or ends, as the transition the log records. */
    private readonly onChange: (transition: NewTransition) => void = () => {},
  ) {
    this.longestGraceMs = Math.max(...allSettings(settings).map((own) => own.graceMs));
  }

  get grace(): number {
    return this.graceUntil;
  }

  /** Which grace is in force (a count): it changes whenever a grace starts or extends. */
  get graceEpoch(): number {
    return this.graces;
  }

  get guard(): ReadonlyMap<number, ClusterGuard> {
    return this.guardState;
  }

  /**
   * Where the grace ends for a cluster with these settings: a timeout plus the backoff cap after
   * the gap (each cluster's own timeout), never after an operator lifted it.
   */
  graceUntilFor(settings: TimeoutSettings): number {
    return Math.min(this.graceFrom + settings.graceMs, this.graceUntil);
  }

  /** Only ever extends: a second gap during a grace moves its end later. */
  grantGrace(why: string, details: Record<string, unknown> = {}): void {
    const now = this.clock.now();
    const until = now + this.longestGraceMs;
    if (until <= this.graceUntil) return;
    this.graceUntil = until;
    this.graceFrom = now;
    this.graceWhy = why;
    this.graces += 1;
    this.graceLogged = true;
    this.logger.warn('timeout grace started: no node is timed out until it ends', { why, ...details, until: new Date(until).toISOString() });
  }

  /** Logs the end of a grace once, on the first sweep after it. */
  noteGraceEnd(now: number): void {
    if (!this.graceLogged || now < this.graceUntil) return;
    this.graceLogged = false;
    this.logger.info('timeout grace ended', { why: this.graceWhy });
  }

  /** An operator lifts every hold: the grace ends now and held clusters' expired nodes go. */
  lift(now: number): { graceLifted: boolean; clustersReleased: number[] } {
    const graceLifted = this.graceUntil > now;
    this.graceUntil = Math.min(this.graceUntil, now);
    const clustersReleased: number[] = [];
    for (const [clusterId, entry] of this.guardState) {
      if (entry.state !== 'held') continue;
      clustersReleased.push(clusterId);
      this.guardState.set(clusterId, { state: 'let-through', clusterId, why: 'lifted' });
      this.holdEnded(clusterId, 'lifted', now);
    }
    this.logger.warn('safety holds lifted by an operator', { graceLifted, clustersReleased });
    return { graceLifted, clustersReleased };
  }

  /** Where this cluster's window of recent time-outs starts (one of its own timeouts back). */
  windowStart(clusterId: number, now: number, settings: TimeoutSettings = this.settings): number {
    return guardWindowStart(now, settings, this.holdEndedAt.get(clusterId));
  }

  /** Adopts a sweep's decision, logging each hold that starts or ends. */
  apply(decision: SweepDecision, now: number): void {
    this.guardState = decision.guard;
    for (const hold of decision.started) {
      this.logger.warn('mass-silence guard: holding terminations; the coordinator network is the likelier culprit', {
        clusterId: hold.clusterId,
        silent: hold.silent,
        active: hold.active,
        timedOut: hold.timedOut,
        threshold: this.settings.massSilence.threshold,
      });
      const evidence = { silent: hold.silent, active: hold.active, timedOut: hold.timedOut, threshold: this.settings.massSilence.threshold };
      this.onChange({ kind: 'hold-started', recordedAt: now, clusterId: hold.clusterId, instanceId: null, nodeId: null, reason: null, evidence });
    }
    for (const { clusterId, why } of decision.ended) {
      // 'drained' ends the letting-through of a hold that already ended.
      if (why !== 'drained') this.holdEnded(clusterId, why, now);
      if (!this.guardState.has(clusterId)) this.holdEndedAt.set(clusterId, now);
      this.logger.info(why === 'drained' ? 'mass-silence guard: the nodes that stayed silent are timed out; guarding again' : 'mass-silence guard: hold ended', {
        clusterId,
        why,
      });
    }
  }

  private holdEnded(clusterId: number, why: HoldEndReason, now: number): void {
    this.onChange({ kind: 'hold-ended', recordedAt: now, clusterId, instanceId: null, nodeId: null, reason: why, evidence: {} });
  }

  view(now: number): HoldsView {
    const inForce = this.graceUntil > now;
    const massSilence: HoldInForce[] = [];
    for (const entry of this.guardState.values()) {
      if (entry.state !== 'held') continue;
      const { state: _state, maxHoldMs, ...hold } = entry;
      massSilence.push({ ...hold, until: hold.since + (maxHoldMs ?? this.settings.massSilence.maxHoldMs) });
    }
    return { graceUntil: inForce ? this.graceUntil : null, graceWhy: inForce ? this.graceWhy : null, massSilence };
  }
}
