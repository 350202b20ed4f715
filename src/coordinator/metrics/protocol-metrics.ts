import { Counter, Histogram, type Registry } from 'prom-client';
import { TerminationReason } from '../../shared/protocol.ts';
import type { RegisterNodeResult } from '../store/store.ts';

/** Every reason the protocol's schema names, so a new one is counted (from 0) without a second list. */
const TERMINATION_REASONS: readonly TerminationReason[] = TerminationReason.anyOf.map((literal) => literal.const);

/** What became of a registration: a node with no Active node before it, one that replaced its instance's Active node, or a refusal (its error code in snake case). */
export type RegistrationOutcome = 'new' | 'superseded' | 'duplicate_identity' | 'hostname_in_use' | 'hostname_taken';
const REGISTRATION_OUTCOMES: readonly RegistrationOutcome[] = ['new', 'superseded', 'duplicate_identity', 'hostname_in_use', 'hostname_taken'];

/** A heartbeat answered 410 (its node is Terminated: the agent registers again) or 401 (its node is gone since its token was checked). */
export type HeartbeatRefusal = 'terminated' | 'unknown_node';
const HEARTBEAT_OUTCOMES = ['accepted', 'terminated', 'unknown_node'] as const;

/** Seconds from a node's deadline to its termination: the sweep's lateness, a mass-silence hold's length. */
const DETECTION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];

/** The outcome label of a registration the store decided. */
export function registrationOutcome(result: RegisterNodeResult): RegistrationOutcome {
  switch (result.outcome) {
    case 'registered':
      return result.supersededNodeId ? 'superseded' : 'new';
    case 'duplicate':
      return 'duplicate_identity';
    case 'hostname-in-use':
      return 'hostname_in_use';
    case 'hostname-taken':
      return 'hostname_taken';
  }
}

/**
 * The agent protocol's counts: registrations by outcome, heartbeats by outcome, terminations by
 * reason, and how late a silent node was terminated. Every label value starts at 0, so a rate
 * is defined (and a dashboard shows the series) before the first event.
 */
export class ProtocolMetrics {
  private readonly registrations: Counter<'outcome'>;
  private readonly heartbeats: Counter<'outcome'>;
  private readonly terminations: Counter<'reason'>;
  private readonly detectionDelay: Histogram;
  /**
   * Accepted heartbeats, a plain number: the heartbeat is the hot path (100k+/s), where a
   * labelled Counter.inc (a label hash and check each call) would cost more than the rest of
   * the counting; the number is handed to the counter at scrape time.
   */
  private readonly accepted = { total: 0, exported: 0 };

  constructor(registry: Registry) {
    const registers = [registry];
    this.registrations = new Counter({
      name: 'nodepulse_registrations_total',
      help: 'Registrations by outcome: new (no Active node replaced), superseded (replaced its instance’s Active node, terminated Unknown), or refused: duplicate_identity, hostname_in_use, hostname_taken',
      labelNames: ['outcome'],
      registers,
    });
    const accepted = this.accepted;
    this.heartbeats = new Counter({
      name: 'nodepulse_heartbeats_total',
      help: 'Heartbeats of authenticated node tokens by outcome: accepted, terminated (answered 410: the node is Terminated), unknown_node (answered 401)',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.inc({ outcome: 'accepted' }, accepted.total - accepted.exported);
        accepted.exported = accepted.total;
      },
    });
    this.terminations = new Counter({
      name: 'nodepulse_terminations_total',
      help: 'Nodes terminated by this replica, by reason: HeartbeatTimeout (the sweeper), Shutdown (the agent deregistered), Unknown (superseded by a new registration of its instance, or deregistered with reason Unknown)',
      labelNames: ['reason'],
      registers,
    });
    this.detectionDelay = new Histogram({
      name: 'nodepulse_detection_delay_seconds',
      help: 'Seconds from a silent node’s deadline (last heartbeat plus the timeout) to its HeartbeatTimeout termination being committed',
      buckets: DETECTION_BUCKETS,
      registers,
    });
    for (const outcome of REGISTRATION_OUTCOMES) this.registrations.inc({ outcome }, 0);
    for (const outcome of HEARTBEAT_OUTCOMES) this.heartbeats.inc({ outcome }, 0);
    for (const reason of TERMINATION_REASONS) this.terminations.inc({ reason }, 0);
  }

  /** The hot path: one addition. */
  heartbeatAccepted(): void {
    this.accepted.total += 1;
  }

  heartbeatRefused(outcome: HeartbeatRefusal): void {
    this.heartbeats.inc({ outcome });
  }

  registered(result: RegisterNodeResult): void {
    this.registrations.inc({ outcome: registrationOutcome(result) });
    if (result.outcome === 'registered' && result.supersededNodeId) this.terminations.inc({ reason: 'Unknown' });
  }

  terminated(reason: TerminationReason, count = 1): void {
    this.terminations.inc({ reason }, count);
  }

  /** Nodes the sweeper timed out, each with the milliseconds from its deadline to its termination. */
  timedOut(delaysMs: readonly number[]): void {
    this.terminations.inc({ reason: 'HeartbeatTimeout' }, delaysMs.length);
    for (const delayMs of delaysMs) this.detectionDelay.observe(Math.max(0, delayMs) / 1000);
  }
}
