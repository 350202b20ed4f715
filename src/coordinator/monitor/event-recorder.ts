import type { ScheduledTask } from 'node-cron';
import { scheduleCron } from '../../shared/cron-task.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import { MONITOR_COMPONENTS, type MonitorComponent, type MonitorEventRecord, type Store } from '../store/store.ts';
import { type MonitorStatuses, NO_CLUSTER, type NewTransition } from '../store/transitions.ts';
import { judgeComponents, type MonitorObservation } from './component-checks.ts';
import { applyRetention } from './retention.ts';
import { uuidV7Generator } from './uuid-v7.ts';

export interface EventRecorderDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** node-cron expression of the checks (default every 10 s). */
  schedule: string;
  /** An unchanged state is still recorded this often. */
  keepaliveMs: number;
  observe: () => Promise<MonitorObservation>;
  /** Whether this replica records scheduled events (several replicas: only the leader); always by default. */
  shouldRecordScheduled?: () => boolean;
  /** Told when a change of status was recorded in the transitions log (the watch streams read it at once). */
  onTransition?: () => void;
}

/** The statuses of an event, as its monitor-status-changed transition carries them. */
export function statusesOf(event: Pick<MonitorEventRecord, 'allHealthy' | 'components'>): MonitorStatuses {
  return { allHealthy: event.allHealthy, api: event.components.api.status, compiler: event.components.compiler.status, runner: event.components.runner.status };
}

/** A change of any status (not a keepalive): what the watch stream shows as monitor-status-changed. */
export function statusChange(previous: MonitorEventRecord | undefined, event: MonitorEventRecord): NewTransition | undefined {
  if (!previous) return undefined;
  const [before, after] = [statusesOf(previous), statusesOf(event)];
  if (before.allHealthy === after.allHealthy && MONITOR_COMPONENTS.every((name) => before[name] === after[name])) return undefined;
  return {
    kind: 'monitor-status-changed',
    recordedAt: event.recordedAt,
    // The monitor covers the whole coordinator, not one cluster.
    clusterId: NO_CLUSTER,
    instanceId: null,
    nodeId: null,
    reason: event.allHealthy ? 'Healthy' : 'Unhealthy',
    evidence: { eventId: event.id, statuses: after, previous: before },
  };
}

/** Record when there is no previous event, when any status changed, or when the keepalive is due. */
export function shouldRecord(previous: MonitorEventRecord | undefined, next: Omit<MonitorEventRecord, 'id'>, keepaliveMs: number): boolean {
  if (!previous) return true;
  if (previous.allHealthy !== next.allHealthy) return true;
  if (MONITOR_COMPONENTS.some((name) => previous.components[name].status !== next.components[name].status)) return true;
  return next.recordedAt - previous.recordedAt >= keepaliveMs;
}

/**
 * Checks the coordinator's components on a schedule and records seed 004's cluster monitor
 * events: on the first check, on every change of status, and as a keepalive. Every check also
 * applies retention, so an event expires within one check of turning 72 h old even while nothing
 * new is recorded (the events API hides expired events in between).
 */
export class EventRecorder {
  private readonly nextId = uuidV7Generator();
  private readonly passed = new Set<MonitorComponent>();
  private lastRecorded: MonitorEventRecord | undefined;
  private task: ScheduledTask | undefined;

  constructor(private readonly deps: EventRecorderDeps) {}

  /** One check; returns the event when one was recorded. */
  async check(): Promise<MonitorEventRecord | undefined> {
    const components = judgeComponents(await this.deps.observe(), this.passed);
    const now = this.deps.clock.now();
    const candidate = { recordedAt: now, allHealthy: MONITOR_COMPONENTS.every((name) => components[name].status === 'Healthy'), components };
    const event = shouldRecord(this.lastRecorded, candidate, this.deps.keepaliveMs) ? await this.record(candidate) : undefined;
    const pruned = await applyRetention(this.deps.store, now);
    if (pruned > 0) this.deps.logger.debug('cluster monitor: old events deleted', { count: pruned });
    return event;
  }

  private async record(candidate: Omit<MonitorEventRecord, 'id'>): Promise<MonitorEventRecord> {
    const event: MonitorEventRecord = { id: this.nextId(candidate.recordedAt), ...candidate };
    // After a start or a takeover, the change is judged against the last event any replica recorded.
    const previous = this.lastRecorded ?? (await this.deps.store.listEvents(1))[0];
    await this.deps.store.insertEvent(event);
    this.lastRecorded = event;
    const change = statusChange(previous, event);
    if (change) {
      await this.deps.store.recordTransitions([change]);
      this.deps.onTransition?.();
    }
    if (!event.allHealthy) {
      this.deps.logger.warn('cluster monitor: unhealthy', Object.fromEntries(MONITOR_COMPONENTS.map((name) => [name, event.components[name].status])));
    }
    return event;
  }

  start(): void {
    this.task = scheduleCron(this.deps.schedule, () => void this.scheduledCheck(), { name: 'cluster-monitor', logger: this.deps.logger, quietMissedRuns: true });
  }

  private async scheduledCheck(): Promise<void> {
    if (this.deps.shouldRecordScheduled && !this.deps.shouldRecordScheduled()) {
      // Another replica records; when this one takes over, its first check records at once.
      this.lastRecorded = undefined;
      return;
    }
    try {
      await this.check();
    } catch (error) {
      this.deps.logger.error('cluster monitor check failed', { error });
    }
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
  }
}
