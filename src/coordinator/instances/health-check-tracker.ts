import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { HealthCheckRequestResult, Store } from '../store/store.ts';

export interface HealthCheckTrackerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** A check with no report after this long records an error and stops being pending. */
  timeoutMs: number;
  /** How often the pending set is re-read from the store (requests made through other replicas). */
  refreshMs: number;
}

/**
 * The instances with a health check waiting for their agent. The store holds the truth
 * (`health_check_pending`); this in-memory copy answers the heartbeat hot path without a query,
 * is updated on every request and report, and is refreshed from the store on a timer.
 */
export class HealthCheckTracker {
  private pending = new Set<number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: HealthCheckTrackerDeps) {}

  isPending(instanceId: number): boolean {
    return this.pending.has(instanceId);
  }

  async request(instanceId: number): Promise<HealthCheckRequestResult> {
    const result = await this.deps.store.requestHealthCheck(instanceId, this.deps.clock.now());
    if (result !== 'not-found') this.pending.add(instanceId);
    return result;
  }

  /** The agent reported its checks (the store already cleared pending). */
  reported(instanceId: number): void {
    this.pending.delete(instanceId);
  }

  /** Fails the checks that timed out, then re-reads the pending set from the store. */
  async refresh(): Promise<void> {
    const { store, clock, timeoutMs, logger } = this.deps;
    const now = clock.now();
    const failed = await store.failHealthChecks(now - timeoutMs, `Health check timed out: no report from the agent within ${timeoutMs / 1000}s`, now);
    if (failed.length > 0) logger.warn('health checks timed out', { instanceIds: failed });
    this.pending = new Set((await store.listPendingHealthChecks()).map((check) => check.instanceId));
  }

  start(): void {
    const tick = () => void this.refresh().catch((error: unknown) => this.deps.logger.error('refreshing pending health checks failed', { error }));
    tick();
    this.timer = setInterval(tick, this.deps.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
