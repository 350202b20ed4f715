/**
 * What a running agent tells about itself (the status endpoint's /status, the status file,
 * `nodepulse agent status`), built from its parts by a pure function. "Healthy" means the
 * heartbeat loop makes progress: its next attempt is not overdue by more than one request.
 */
import { toRfc3339 } from '../shared/clock.ts';
import type { HealthReport } from '../shared/protocol.ts';
import type { BeatOutcome } from './heartbeat-loop.ts';
import type { ConnectionState } from './node-session.ts';

/** Timers fire late on a loaded host: an attempt this late still counts as on time. */
const LATE_TIMER_SLACK_MS = 2_000;

/** States reached only by an answer from the coordinator (reachable), or by none (unreachable). */
const ANSWERED: readonly ConnectionState[] = ['connected', 'unauthorized', 'node-token-refused', 'duplicate', 'hostname-in-use', 'rejected'];
const UNANSWERED: readonly ConnectionState[] = ['unreachable', 'bad-answer', 'tls-failure'];

export interface BeatRecord {
  kind: 'registration' | 'heartbeat';
  outcome: BeatOutcome['kind'];
  at: number;
}

/** The agent's parts as the report needs them. */
export interface StatusInputs {
  version: string;
  pid: number;
  identity: string;
  coordinator: string;
  startedAt: number;
  nodeId: string | undefined;
  connection: ConnectionState;
  lastAttempt: BeatRecord | undefined;
  /** The last registration or heartbeat the coordinator accepted. */
  lastAcceptedAt: number | undefined;
  /** When the loop attempts next (undefined once stopped). */
  nextAttemptAt: number | undefined;
  /** Failed attempts since the last accepted one. */
  failures: number;
  /** The wait before the next attempt when the last one failed (the backoff), else 0. */
  backoffMs: number;
  intervalMs: number;
  requestTimeoutMs: number;
  health: HealthReport | undefined;
}

export interface AgentStatusReport {
  version: string;
  pid: number;
  identity: string;
  coordinator: string;
  startedAt: string;
  registered: boolean;
  nodeId: string | null;
  connection: ConnectionState;
  /** true: the coordinator answered the last attempt; false: it did not; null: no attempt yet. */
  coordinatorReachable: boolean | null;
  lastAttempt: { kind: BeatRecord['kind']; outcome: BeatRecord['outcome']; at: string } | null;
  lastHeartbeatAt: string | null;
  nextAttemptAt: string | null;
  backoff: { failures: number; delaySecs: number };
  heartbeatIntervalSecs: number;
  health: HealthReport | null;
  healthy: boolean;
  /** The report stays true until then unless the loop makes progress (a status file read later is judged by it). */
  healthyUntil: string | null;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : toRfc3339(ms));

export function statusReport(inputs: StatusInputs, now: number): AgentStatusReport {
  const healthyUntil = inputs.nextAttemptAt === undefined ? undefined : inputs.nextAttemptAt + inputs.requestTimeoutMs + LATE_TIMER_SLACK_MS;
  return {
    version: inputs.version,
    pid: inputs.pid,
    identity: inputs.identity,
    coordinator: inputs.coordinator,
    startedAt: toRfc3339(inputs.startedAt),
    registered: inputs.nodeId !== undefined,
    nodeId: inputs.nodeId ?? null,
    connection: inputs.connection,
    coordinatorReachable: ANSWERED.includes(inputs.connection) ? true : UNANSWERED.includes(inputs.connection) ? false : null,
    lastAttempt: inputs.lastAttempt ? { kind: inputs.lastAttempt.kind, outcome: inputs.lastAttempt.outcome, at: toRfc3339(inputs.lastAttempt.at) } : null,
    lastHeartbeatAt: iso(inputs.lastAcceptedAt),
    nextAttemptAt: iso(inputs.nextAttemptAt),
    backoff: { failures: inputs.failures, delaySecs: inputs.backoffMs / 1000 },
    heartbeatIntervalSecs: inputs.intervalMs / 1000,
    health: inputs.health ?? null,
    healthy: healthyUntil !== undefined && now <= healthyUntil,
    healthyUntil: iso(healthyUntil),
  };
}

/** Whether a report read later (from the status file) still holds: its loop would have written a newer one by then. */
export function stillHealthy(report: AgentStatusReport, now: number): boolean {
  return report.healthyUntil !== null && now <= Date.parse(report.healthyUntil);
}
