import type { Logger } from '../../shared/logger.ts';
import type { Component } from '../component-runner.ts';
import type { TimeoutGrace } from '../sweeper/safety-holds.ts';
import type { LeaderLock } from './leader-lock.ts';

export interface LeaderElectionDeps {
  /** Undefined: a store that one process owns (SQLite), so this replica is always the leader. */
  lock: LeaderLock | undefined;
  /** Pinged on each round when there is no lock, to notice store outages. */
  ping: () => Promise<void>;
  logger: Logger;
  /** How often a follower tries to take the lock and a leader checks it still holds it. */
  intervalMs: number;
  /**
   * Nobody is timed out for one full timeout after a takeover (not for the SQLite always-leader at
   * start) or after the store answers again: neither gap is the nodes' fault.
   */
  grace: TimeoutGrace;
}

/**
 * Exactly one sweeping replica. Every `intervalMs` a follower tries the lock and the leader
 * checks it still holds it; a replica that loses its connection stops leading at once (the
 * server released the lock with the connection). Also watches the store: after an outage it
 * reports the recovery once.
 */
export class LeaderElection implements Component {
  readonly name = 'leader election';
  private leader: boolean;
  private storeDown = false;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: LeaderElectionDeps) {
    this.leader = deps.lock === undefined;
  }

  isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    this.stopped = false;
    const loop = async () => {
      this.round = this.runRound();
      await this.round;
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.deps.intervalMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    if (!this.deps.lock) return;
    this.leader = false;
    // A lock whose connection is gone cannot be released, nor needs to be: the server let it go with the connection.
    await this.deps.lock.release().catch((error: unknown) => this.deps.logger.error('releasing leadership failed', { error }));
  }

  /** One round; never throws. */
  async runRound(): Promise<void> {
    try {
      await this.checkLeadership();
      if (this.storeDown) {
        this.storeDown = false;
        this.deps.logger.warn('store reachable again');
        this.deps.grace.grantGrace('store outage');
      }
    } catch (error) {
      if (!this.storeDown) {
        this.storeDown = true;
        this.deps.logger.error('store unreachable', { error });
      }
      this.setLeader(false);
    }
  }

  private async checkLeadership(): Promise<void> {
    const { lock } = this.deps;
    if (!lock) {
      await this.deps.ping();
      return;
    }
    if (this.stopped) return;
    this.setLeader(this.leader ? await lock.stillHeld() : await lock.tryAcquire());
  }

  private setLeader(leader: boolean): void {
    if (!this.deps.lock || leader === this.leader) return;
    this.leader = leader;
    if (leader) {
      this.deps.logger.info('leadership gained: this replica sweeps now');
      this.deps.grace.grantGrace('takeover');
    } else {
      this.deps.logger.warn('leadership lost: another replica sweeps');
    }
  }
}
