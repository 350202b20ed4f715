import type { Clock } from '../../shared/clock.ts';

export interface StallWatchDeps {
  clock: Clock;
  /** How often the watch looks at the clock. */
  periodMs: number;
  /** A gap this much longer than the period is a stall. */
  toleranceMs: number;
  /** Told once per stall, when the coordinator runs again. */
  onStall: (gapMs: number) => void;
}

/**
 * Notices gaps in the coordinator's own progress: a blocked event loop, a stopped process
 * (SIGSTOP, a suspended container), a frozen VM. No heartbeat could arrive during such a gap, so
 * silence measured across it proves nothing. A timer looks at the clock every period, and every
 * judgement looks too before it trusts its view (`check`): whichever runs first after the gap,
 * a timer, a sweep tick or a request, learns of it.
 */
export class StallWatch {
  private last: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: StallWatchDeps) {}

  start(): void {
    this.last = this.deps.clock.now();
    this.arm();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  /** Looks at the clock now; reports a stall when the last look is too long ago. A no-op until started. */
  check(): void {
    if (this.last === undefined) return;
    const now = this.deps.clock.now();
    const gap = now - this.last;
    this.last = now;
    if (gap > this.deps.periodMs + this.deps.toleranceMs) this.deps.onStall(gap);
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.check();
      if (this.last !== undefined) this.arm();
    }, this.deps.periodMs);
    this.timer.unref();
  }
}
