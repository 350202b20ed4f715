import { type Static, Type } from '@sinclair/typebox';
import { UUID_PATTERN } from './uuid-v7.ts';

/** Feldera's published shapes (test/fixtures/contracts/feldera-cluster-events.openapi.json), kept exactly. */

export const MonitorStatusSchema = Type.Unsafe<'InitialUnhealthy' | 'Unhealthy' | 'Healthy'>({
  type: 'string',
  enum: ['InitialUnhealthy', 'Unhealthy', 'Healthy'],
});

export const EventSelector = Type.Unsafe<'all' | 'status'>({ type: 'string', enum: ['all', 'status'], default: 'status' });
export type EventSelector = Static<typeof EventSelector>;

const info = Type.Optional(Type.String());
export const SelectedEvent = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Cluster monitor event identifier.' }),
  recorded_at: Type.String({ format: 'date-time' }),
  all_healthy: Type.Boolean(),
  api_status: MonitorStatusSchema,
  compiler_status: MonitorStatusSchema,
  runner_status: MonitorStatusSchema,
  api_self_info: info,
  api_resources_info: info,
  compiler_self_info: info,
  compiler_resources_info: info,
  runner_self_info: info,
  runner_resources_info: info,
});
export type SelectedEvent = Static<typeof SelectedEvent>;

export const EventParams = Type.Object({
  event_id: Type.String({ pattern: `^(latest|${UUID_PATTERN})$`, description: 'Cluster monitor event identifier or `latest`' }),
});
export const EventQuery = Type.Object({ selector: Type.Optional(EventSelector) });

const ServiceStatus = Type.Object({
  healthy: Type.Boolean(),
  message: Type.String(),
  unchanged_since: Type.String({ format: 'date-time' }),
  checked_at: Type.String({ format: 'date-time' }),
});
export const HealthStatus = Type.Object({ all_healthy: Type.Boolean(), api: ServiceStatus, compiler: ServiceStatus, runner: ServiceStatus });
export type HealthStatus = Static<typeof HealthStatus>;
