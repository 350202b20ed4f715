import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { PRINTABLE_PATTERN } from '../../shared/control-characters.ts';
import { HOSTNAME_MAX_LENGTH, NameText } from '../../shared/protocol.ts';
import { MAX_STORE_ID } from '../store/store.ts';

/** The wire shapes of seeds 002/003 (AWX instances): one definition validates, types and documents. */

export const NODE_TYPES = ['control', 'execution', 'hybrid', 'hop'] as const;
export const NODE_STATES = ['provisioning', 'provision-fail', 'installed', 'ready', 'unavailable', 'deprovisioning', 'deprovision-fail'] as const;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
const literals = <T extends readonly string[]>(values: T, options: Record<string, unknown> = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

export const NodeType = literals(NODE_TYPES, { description: 'Role that this node plays in the mesh' });
export const NodeState = literals(NODE_STATES, { description: 'Current life cycle stage of this instance' });

export const Instance = Type.Object({
  id: Type.Integer(),
  hostname: Type.String(),
  type: Type.Literal('instance'),
  url: Type.String(),
  related: Type.Record(Type.String(), Type.String()),
  summary_fields: Type.Object({
    cluster: Type.Object({ id: Type.Integer(), name: Type.String() }),
    /** The agent's own condition from its latest heartbeat through this replica: tells a stalled agent from a lost host. */
    agent: Type.Optional(Type.Object({ event_loop_delay_ms: Type.Number(), rss_bytes: Type.Integer(), reported_at: DateTime })),
  }),
  uuid: Type.String(),
  created: DateTime,
  modified: DateTime,
  last_seen: Nullable(DateTime),
  health_check_started: Nullable(DateTime),
  health_check_pending: Type.Boolean(),
  last_health_check: Nullable(DateTime),
  errors: Type.String(),
  capacity_adjustment: Type.String({ description: 'decimal, 0.00 to 1.00' }),
  version: Type.String(),
  capacity: Type.Integer({ minimum: 0 }),
  consumed_capacity: Type.Integer({ minimum: 0 }),
  percent_capacity_remaining: Type.Number(),
  jobs_running: Type.Integer({ minimum: 0 }),
  jobs_total: Type.Integer({ minimum: 0 }),
  cpu: Type.String({ description: 'decimal' }),
  memory: Type.Integer({ minimum: 0 }),
  cpu_capacity: Type.Integer({ minimum: 0 }),
  mem_capacity: Type.Integer({ minimum: 0 }),
  enabled: Type.Boolean(),
  managed_by_policy: Type.Boolean(),
  node_type: NodeType,
  node_state: NodeState,
  ip_address: Type.String(),
  listener_port: Nullable(Type.Integer({ minimum: 0, maximum: 65535 })),
  peers: Type.Array(Type.String(), { uniqueItems: true }),
  peers_from_control_nodes: Type.Boolean(),
  /** nodepulse's: planned downtime. While `maintenance_until` is in the future its silence is expected (timed out as usual, never counted as a failure). */
  maintenance_until: Nullable(DateTime),
  maintenance_reason: Type.String(),
  maintenance: Type.Boolean({ description: 'true while maintenance_until is in the future (the coordinator’s clock)' }),
  /** nodepulse's: the labels its agent reports (config `labels`), {} before it registered. */
  labels: Type.Record(Type.String(), Type.String(), { description: 'The labels the host’s agent reports (read-only)' }),
});
export type Instance = Static<typeof Instance>;

export const InstancePage = Type.Object({
  count: Type.Integer(),
  next: Nullable(Type.String()),
  previous: Nullable(Type.String()),
  results: Type.Array(Instance),
});
export type InstancePage = Static<typeof InstancePage>;

/** A boolean query parameter in the spellings AWX's filters accept: true/false, t/f, 1/0, in any case. */
const QueryBoolean = Type.String({ pattern: '^(?:[Tt](?:[Rr][Uu][Ee])?|[Ff](?:[Aa][Ll][Ss][Ee])?|1|0)$', description: 'true or false (also t/f, 1/0; any case)' });

export function parseQueryBoolean(text: string): boolean {
  return /^(?:t|true|1)$/i.test(text);
}

export const InstanceListQuery = Type.Object({
  page: Type.Integer({ minimum: 1, default: 1 }),
  page_size: Type.Integer({ minimum: 1, maximum: 200, default: 25 }),
  // Printable like every stored hostname (so no filter with a control character, NUL included, reaches a store).
  hostname: Type.Optional(Type.String({ maxLength: HOSTNAME_MAX_LENGTH, pattern: PRINTABLE_PATTERN })),
  node_state: Type.Optional(NodeState),
  enabled: Type.Optional(QueryBoolean),
  cluster: Type.Optional(NameText(128)),
});
export type InstanceListQuery = Static<typeof InstanceListQuery>;

export const InstanceParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: MAX_STORE_ID }) });

/**
 * capacity_adjustment: a decimal from 0 to 1 with at most two places, as a string ("0.50", the
 * pattern spells the range) or a number (0.5). One schema with both types, not a union, so a
 * refusal names the field once; a number's places are checked in code (multipleOf is inexact
 * for binary fractions).
 */
const CapacityAdjustment = (options: Record<string, unknown>) =>
  Type.Unsafe<string | number>({
    type: ['string', 'number'],
    minimum: 0,
    maximum: 1,
    pattern: '^(0(\\.[0-9]{1,2})?|\\.[0-9]{1,2}|1(\\.0{1,2})?)$',
    description: 'decimal from 0 to 1 with at most two places, as a string ("0.5") or a number',
    ...options,
  });

/** An RFC 3339 date-time with its offset; the schema validators check no formats, so the pattern says it. */
const RFC3339_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$';

/** Seed 002's read-only fields: accepted in a request body and ignored, as AWX does. */
export const READ_ONLY_FIELDS = [
  'id', 'type', 'url', 'related', 'summary_fields', 'uuid', 'created', 'modified', 'last_seen', 'health_check_started',
  'health_check_pending', 'last_health_check', 'errors', 'version', 'capacity', 'consumed_capacity',
  'percent_capacity_remaining', 'jobs_running', 'jobs_total', 'cpu', 'memory', 'cpu_capacity', 'mem_capacity', 'ip_address',
  'maintenance', 'labels',
] as const;
const readOnly = Object.fromEntries(READ_ONLY_FIELDS.map((field) => [field, Type.Optional(Type.Unknown({ readOnly: true, description: 'read-only: ignored' }))]));

const writable = (withDefaults: boolean) => {
  const d = (value: unknown) => (withDefaults ? { default: value } : {});
  return {
    hostname: NameText(HOSTNAME_MAX_LENGTH),
    capacity_adjustment: Type.Optional(CapacityAdjustment(d('1.00'))),
    enabled: Type.Optional(Type.Boolean(d(true))),
    managed_by_policy: Type.Optional(Type.Boolean(d(true))),
    node_type: Type.Optional(literals(NODE_TYPES, d('execution'))),
    node_state: Type.Optional(
      literals(NODE_STATES, {
        ...d('installed'),
        description: 'Settable only while no agent has registered the instance, and never to ready or unavailable (derived); sending the current value changes nothing',
      }),
    ),
    listener_port: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 65535 }))),
    peers: Type.Optional(Nullable(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { uniqueItems: true, maxItems: 1000 }))),
    peers_from_control_nodes: Type.Optional(Type.Boolean(d(false))),
    maintenance_until: Type.Optional(
      Nullable(
        Type.String({
          pattern: RFC3339_PATTERN,
          maxLength: 40,
          description: 'RFC 3339 time (2026-12-02T14:00:00Z): the instance is in maintenance until then; null ends it',
        }),
      ),
    ),
    maintenance_reason: Type.Optional(Type.String({ maxLength: 500, pattern: PRINTABLE_PATTERN, description: 'Why (shown with the window; "" for none)' })),
  };
};

export const CreateInstanceBody = Type.Object(
  { ...writable(true), cluster: Type.Optional(NameText(128)), ...readOnly },
  { additionalProperties: false },
);
export type CreateInstanceBody = Static<typeof CreateInstanceBody>;

const { hostname, ...rest } = writable(false);
export const PatchInstanceBody = Type.Object({ hostname: Type.Optional(hostname), ...rest, ...readOnly }, { additionalProperties: false });
export type PatchInstanceBody = Static<typeof PatchInstanceBody>;

export const HealthCheckStarted = Type.Object({ msg: Type.String() });

export const HealthView = Type.Object({
  uuid: Type.String(),
  hostname: Type.String(),
  ip_address: Type.String(),
  version: Type.String(),
  last_health_check: Nullable(DateTime),
  errors: Type.String(),
  cpu: Type.String(),
  memory: Type.Integer(),
  cpu_capacity: Type.Integer(),
  mem_capacity: Type.Integer(),
  capacity: Type.Integer(),
});
export type HealthView = Static<typeof HealthView>;
