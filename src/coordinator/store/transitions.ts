import type { CheckStatus, TerminationReason } from '../../shared/protocol.ts';

/**
 * The log of every transition of an instance's nodes and of its health status, with the evidence
 * behind it (migration 8), and of the mass-silence holds of a cluster. Written in the same transaction as the change it
 * records; its id increases with every row and is the watch stream's event id. Maintenance
 * windows of instances and the cluster monitor's status changes are rows too. Times are
 * milliseconds on the coordinator's clock.
 */

export type TransitionKind =
  | 'node-registered'
  | 'node-terminated'
  | 'registration-refused'
  | 'health-changed'
  | 'hold-started'
  | 'hold-ended'
  | 'maintenance-changed'
  | 'monitor-status-changed';
export const TRANSITION_KINDS: readonly TransitionKind[] = [
  'node-registered',
  'node-terminated',
  'registration-refused',
  'health-changed',
  'hold-started',
  'hold-ended',
  'maintenance-changed',
  'monitor-status-changed',
];

/**
 * The cluster id of a transition that belongs to no cluster: the cluster monitor's status covers
 * the whole coordinator. No cluster has it (ids start at 1).
 */
export const NO_CLUSTER = 0;

/** What happened to a host that came back after its node was lost (outage-verdict.ts). */
export type OutageVerdict =
  | { outcome: 'rebooted'; previousNodeId: string; silentSince: number; bootedAt?: number | undefined }
  | { outcome: 'agent-restarted'; previousNodeId: string; silentSince: number; agentStartedAt: number }
  | { outcome: 'cut-off'; previousNodeId: string; silentSince: number; failures: FailedAttempts }
  | { outcome: 'unknown'; previousNodeId: string; silentSince: number; why: string };

/** The attempts an agent process saw fail since its last success, on the coordinator's clock. */
export interface FailedAttempts {
  count: number;
  firstAt: number;
  firstError: string;
  lastAt: number;
  lastError: string;
}

/** What a registering agent says of itself beyond seed 000, converted to the coordinator's clock. */
export interface AgentContinuity {
  /** Random per agent process: the same one after an outage means the process kept running. */
  processId: string;
  processStartedAt: number;
  hostBootedAt?: number | undefined;
  failures?: FailedAttempts | undefined;
}

export interface RegistrationEvidence {
  hostname: string;
  identity?: string | undefined;
  bootId?: string | undefined;
  agentVersion?: string | undefined;
  address?: string | undefined;
  agent?: AgentContinuity | undefined;
  supersededNodeId?: string | undefined;
  verdict?: OutageVerdict | undefined;
}

export interface TerminationEvidence {
  lastHeartbeat: number;
  /** When the node was due: its last heartbeat plus the timeout (timeouts only). */
  deadline?: number | undefined;
  /** The replica that terminated it. */
  decidedBy?: string | undefined;
  /** The safety hold the node was let through after (an operator's lift, the hold's time bound, a settled cut). */
  hold?: string | undefined;
  /** The registration that replaced it (superseded nodes). */
  supersededBy?: string | undefined;
  /** A timeout while the instance was in maintenance: expected, not a failure. */
  maintenance?: { until: number; reason: string } | undefined;
}

export interface RefusalEvidence {
  hostname: string;
  identity?: string | undefined;
  bootId?: string | undefined;
  address?: string | undefined;
  activeNodeId: string;
  lastHeartbeat: number;
  otherIdentity?: string | undefined;
}

/** An instance's health checks changed its status: the one before (null before its first report) and the checks now failing. */
export interface HealthEvidence {
  previous: CheckStatus | null;
  failing: string[];
}

/** The figures behind a cluster's mass-silence hold when it started. */
export interface HoldEvidence {
  silent: number;
  active: number;
  timedOut: number;
  threshold: number;
}

/** An instance's maintenance window as set (until null: none), and who set it: an admin's PATCH, or the coordinator when it passed. */
export interface MaintenanceEvidence {
  until: number | null;
  reason: string;
  setBy: 'admin' | 'coordinator';
}

/** Whether the instance's maintenance began, changed or ended with this transition. */
export type MaintenanceChange = 'started' | 'changed' | 'ended';

/** The cluster monitor's statuses (seed 004) after a change, and before it. */
export interface MonitorStatusEvidence {
  eventId: string;
  statuses: MonitorStatuses;
  previous: MonitorStatuses;
}

export interface MonitorStatuses {
  allHealthy: boolean;
  api: string;
  compiler: string;
  runner: string;
}

/** Why a hold ended: its silent nodes came back, their share stayed under the threshold, its time bound, an operator. */
export type HoldEndReason = 'nodes-back' | 'settled' | 'hold-expired' | 'lifted';

interface TransitionBase {
  id: number;
  recordedAt: number;
  clusterId: number;
  instanceId: number | null;
  nodeId: string | null;
}

export type TransitionRecord = TransitionBase &
  (
    | { kind: 'node-registered'; reason: null; evidence: RegistrationEvidence }
    | { kind: 'node-terminated'; reason: TerminationReason; evidence: TerminationEvidence }
    | { kind: 'registration-refused'; reason: 'DuplicateIdentity' | 'HostnameInUse'; evidence: RefusalEvidence }
    | { kind: 'health-changed'; reason: CheckStatus; evidence: HealthEvidence }
    | { kind: 'hold-started'; reason: null; evidence: HoldEvidence }
    | { kind: 'hold-ended'; reason: HoldEndReason; evidence: Record<string, never> }
    | { kind: 'maintenance-changed'; reason: MaintenanceChange; evidence: MaintenanceEvidence }
    | { kind: 'monitor-status-changed'; reason: 'Healthy' | 'Unhealthy'; evidence: MonitorStatusEvidence }
  );

/** A row to append: the store gives it its id. */
export type NewTransition = DistributiveOmit<TransitionRecord, 'id'>;
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** Who terminates a node, recorded with the termination. */
export interface TerminationContext {
  decidedBy?: string | undefined;
  hold?: string | undefined;
}
