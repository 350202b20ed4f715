import { randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import type { Component } from '../component-runner.ts';
import type { Store } from '../store/store.ts';

/** Each replica says it is alive this often; the monitor counts replicas seen within three times that. */
const REPLICA_PRESENCE_MS = 10_000;

/** Tells the store, every REPLICA_PRESENCE_MS, that this replica is alive, so the monitor can count the replicas serving. */
export class ReplicaPresence implements Component {
  readonly name = 'replica presence';
  private readonly id = randomUUID();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** When this replica started, as the store records it. */
    private readonly startedAt: number,
  ) {}

  /** Replicas seen alive at or after this time are counted as serving. */
  seenSince(): number {
    return this.clock.now() - 3 * REPLICA_PRESENCE_MS;
  }

  start(): void {
    this.announce();
    this.timer = setInterval(() => this.announce(), REPLICA_PRESENCE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Replicas silent for a long while are forgotten. A store outage shows in /readyz and the leader election's log; presence simply resumes after it. */
  private announce(): void {
    const now = this.clock.now();
    void this.store.touchReplica(this.id, this.startedAt, now, now - 60 * REPLICA_PRESENCE_MS).catch(() => undefined);
  }
}
