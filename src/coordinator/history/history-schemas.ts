import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TRANSITION_KINDS } from '../store/transitions.ts';

/** The wire shape of an instance's history (and of the watch stream's events): one definition validates, types and documents. */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
const Maybe = <T extends TSchema>(schema: T) => Type.Optional(schema);

export const TransitionKind = Type.Unsafe<(typeof TRANSITION_KINDS)[number]>({ type: 'string', enum: [...TRANSITION_KINDS] });

export const FailedAttemptsView = Type.Object({
  count: Type.Integer(),
  first_at: DateTime,
  first_error: Type.String(),
  last_at: DateTime,
  last_error: Type.String(),
});

export const VERDICT_OUTCOMES = ['rebooted', 'agent-restarted', 'cut-off', 'unknown'] as const;

export const VerdictView = Type.Object(
  {
    outcome: Type.Unsafe<(typeof VERDICT_OUTCOMES)[number]>({ type: 'string', enum: [...VERDICT_OUTCOMES] }),
    previous_node_id: Type.String(),
    /** The previous node's last heartbeat. */
    silent_since: DateTime,
    booted_at: Maybe(DateTime),
    agent_started_at: Maybe(DateTime),
    failed_attempts: Maybe(FailedAttemptsView),
    why: Maybe(Type.String()),
  },
  { description: 'What happened to the host while its previous node was lost: rebooted, agent-restarted, cut-off or unknown' },
);
export type VerdictView = Static<typeof VerdictView>;

/** Every kind's evidence in one object: each kind fills the fields it has. */
export const EvidenceView = Type.Object(
  {
    hostname: Maybe(Type.String()),
    identity: Maybe(Type.String()),
    boot_id: Maybe(Type.String()),
    agent_version: Maybe(Type.String()),
    address: Maybe(Type.String()),
    agent_process_id: Maybe(Type.String()),
    agent_started_at: Maybe(DateTime),
    host_booted_at: Maybe(DateTime),
    failed_attempts: Maybe(FailedAttemptsView),
    superseded_node_id: Maybe(Type.String()),
    superseded_by: Maybe(Type.String()),
    last_heartbeat: Maybe(DateTime),
    deadline: Maybe(DateTime),
    decided_by: Maybe(Type.String()),
    hold: Maybe(Type.String()),
    active_node_id: Maybe(Type.String()),
    other_identity: Maybe(Type.String()),
    /** A health change: the status before it and the checks now failing. */
    previous_status: Maybe(Nullable(Type.String())),
    failing_checks: Maybe(Type.Array(Type.String())),
    /** A mass-silence hold's figures when it started. */
    silent: Maybe(Type.Integer()),
    active: Maybe(Type.Integer()),
    timed_out: Maybe(Type.Integer()),
    threshold: Maybe(Type.Number()),
    /** A maintenance change: the window as set (until null: none), its reason, and who set it (admin, or coordinator when it passed). */
    until: Maybe(Nullable(DateTime)),
    reason: Maybe(Type.String()),
    set_by: Maybe(Type.String()),
    /** A timeout during maintenance: expected, with the window it fell in. */
    maintenance: Maybe(Type.Object({ until: DateTime, reason: Type.String() })),
    /** A change of the cluster monitor's status: the seed 004 event that recorded it, the statuses after it and before. */
    event_id: Maybe(Type.String()),
    all_healthy: Maybe(Type.Boolean()),
    api_status: Maybe(Type.String()),
    compiler_status: Maybe(Type.String()),
    runner_status: Maybe(Type.String()),
    previous: Maybe(
      Type.Object({ all_healthy: Type.Boolean(), api_status: Type.String(), compiler_status: Type.String(), runner_status: Type.String() }),
    ),
  },
  { additionalProperties: false },
);
export type EvidenceView = Static<typeof EvidenceView>;

export const HistoryEntry = Type.Object({
  /** The transitions log's id: increasing, and the watch stream's event id. */
  id: Type.Integer(),
  kind: TransitionKind,
  recorded_at: DateTime,
  /** 0 for a transition of the whole coordinator (the cluster monitor's status). */
  cluster_id: Type.Integer(),
  instance_id: Nullable(Type.Integer()),
  node_id: Nullable(Type.String()),
  /** A termination's reason (seed 000's), a refusal's error code, the new health status, why a hold ended, started/changed/ended for maintenance, the monitor's Healthy or Unhealthy. */
  reason: Nullable(Type.String()),
  evidence: EvidenceView,
  verdict: Maybe(VerdictView),
});
export type HistoryEntry = Static<typeof HistoryEntry>;

export const HistoryPage = Type.Object({
  count: Type.Integer(),
  next: Nullable(Type.String()),
  previous: Nullable(Type.String()),
  results: Type.Array(HistoryEntry),
});
export type HistoryPage = Static<typeof HistoryPage>;

export const HistoryQuery = Type.Object({
  page: Type.Integer({ minimum: 1, default: 1 }),
  page_size: Type.Integer({ minimum: 1, maximum: 200, default: 25 }),
});
export type HistoryQuery = Static<typeof HistoryQuery>;
