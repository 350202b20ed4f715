import type { Store } from '../store/store.ts';

/**
 * Records the end of every maintenance window that passes while this replica sweeps, lazily: an
 * instance leaves maintenance by time alone (no row changes, no timer), and each sweep (every
 * second) asks the store for the windows that ended since the previous one, an index range that
 * is almost always empty. Only the sweeping replica records, and it starts from its first sweep
 * (windows that ended while no coordinator swept have no such entry; their flag is false all the
 * same).
 */
export class MaintenanceEnds {
  /** Windows that ended up to here are recorded; undefined until this replica's first sweep since it began sweeping. */
  private recordedUpTo: number | undefined;

  constructor(
    private readonly store: Pick<Store, 'recordMaintenanceEnds'>,
    /** Told when ends were recorded (the watch streams read the log at once). */
    private readonly onRecorded: () => void,
  ) {}

  /** Records the windows that ended since the last call. */
  async record(now: number): Promise<void> {
    const after = this.recordedUpTo;
    if (after === undefined || now <= after) {
      this.recordedUpTo = Math.max(after ?? now, now);
      return;
    }
    const count = await this.store.recordMaintenanceEnds(after, now);
    this.recordedUpTo = now;
    if (count > 0) this.onRecorded();
  }

  /** This replica stopped sweeping: whoever sweeps meanwhile records the ends. */
  forget(): void {
    this.recordedUpTo = undefined;
  }
}
