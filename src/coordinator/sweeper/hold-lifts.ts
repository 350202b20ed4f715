import type { Clock } from '../../shared/clock.ts';
import type { Store } from '../store/store.ts';
import type { SafetyHolds } from './safety-holds.ts';

export interface LiftResult {
  graceLifted: boolean;
  clustersReleased: number[];
  /** False: this replica does not sweep; the request went to the sweeping replica through the store. */
  appliedHere: boolean;
}

export interface HoldLiftsDeps {
  store: Store;
  clock: Clock;
  holds: SafetyHolds;
  /** Several replicas share the store: lift requests made through another replica arrive through it. */
  sharedStore: boolean;
}

/**
 * An operator's lift of every safety hold (coordinator_LiftSafetyHolds), whichever replica it
 * reaches: applied at once on the sweeping replica; otherwise counted in the shared store, and
 * the sweeping replica applies it when it sees the count move.
 */
export class HoldLifts {
  /** The store's request count as last seen, under the grace in force then; none until read after a grace starts. */
  private seen: { sequence: number; graceEpoch: number } | undefined;

  constructor(private readonly deps: HoldLiftsDeps) {}

  async request(sweepingHere: boolean): Promise<LiftResult> {
    const now = this.deps.clock.now();
    if (sweepingHere) return { ...this.deps.holds.lift(now), appliedHere: true };
    await this.deps.store.requestHoldLift(now);
    return { graceLifted: false, clustersReleased: [], appliedHere: false };
  }

  /** Applies a lift requested through another replica since the last look. */
  async applyRequested(): Promise<void> {
    if (!this.deps.sharedStore) return;
    const sequence = await this.deps.store.holdLiftSequence();
    const { holds } = this.deps;
    // Requests older than the grace in force were meant for an earlier sweeper, not for this one.
    const seen = this.seen?.graceEpoch === holds.graceEpoch ? this.seen.sequence : undefined;
    this.seen = { sequence, graceEpoch: holds.graceEpoch };
    if (seen !== undefined && sequence > seen) holds.lift(this.deps.clock.now());
  }
}
