import { toRfc3339 } from '../../shared/clock.ts';
import { MONITOR_COMPONENTS, type MonitorEventRecord } from '../store/store.ts';
import type { EventSelector, HealthStatus, SelectedEvent } from './event-schemas.ts';

/** Seed 004's event: status fields only (`selector=status`, the default), or with the six `*_info` fields (`all`). */
export function toSelectedEvent(event: MonitorEventRecord, selector: EventSelector): SelectedEvent {
  const out: SelectedEvent = {
    id: event.id,
    recorded_at: toRfc3339(event.recordedAt),
    all_healthy: event.allHealthy,
    api_status: event.components.api.status,
    compiler_status: event.components.compiler.status,
    runner_status: event.components.runner.status,
  };
  if (selector === 'all') {
    for (const name of MONITOR_COMPONENTS) {
      out[`${name}_self_info`] = event.components[name].selfInfo;
      out[`${name}_resources_info`] = event.components[name].resourcesInfo;
    }
  }
  return out;
}

/**
 * Feldera's /v0/cluster_healthz from the retained events (newest first): each service's latest
 * conclusion, and since when it has not changed (bounded by retention).
 */
export function toHealthStatus(events: readonly MonitorEventRecord[], now: number): HealthStatus {
  const [latest] = events;
  const service = (name: (typeof MONITOR_COMPONENTS)[number]) => {
    if (!latest) return { healthy: false, message: 'no cluster monitor event recorded yet', unchanged_since: toRfc3339(now), checked_at: toRfc3339(now) };
    const healthy = latest.components[name].status === 'Healthy';
    let since = latest.recordedAt;
    for (const event of events) {
      if ((event.components[name].status === 'Healthy') !== healthy) break;
      since = event.recordedAt;
    }
    const report = latest.components[name];
    return { healthy, message: `${report.status}: ${report.selfInfo}`, unchanged_since: toRfc3339(since), checked_at: toRfc3339(latest.recordedAt) };
  };
  const api = service('api');
  const compiler = service('compiler');
  const runner = service('runner');
  return { all_healthy: api.healthy && compiler.healthy && runner.healthy, api, compiler, runner };
}
