import { toRfc3339 } from '../../shared/clock.ts';
import type { FailedAttempts, MonitorStatuses, OutageVerdict, TransitionRecord } from '../store/transitions.ts';
import type { EvidenceView, HistoryEntry, VerdictView } from './history-schemas.ts';
import { definedOnly } from '../../shared/defined-only.ts';

/** A transition as the history API and the watch stream show it: the one conversion to the wire's snake_case. */
export function toHistoryEntry(transition: TransitionRecord): HistoryEntry {
  const entry: HistoryEntry = {
    id: transition.id,
    kind: transition.kind,
    recorded_at: toRfc3339(transition.recordedAt),
    cluster_id: transition.clusterId,
    instance_id: transition.instanceId,
    node_id: transition.nodeId,
    reason: transition.reason,
    evidence: evidenceView(transition),
  };
  if (transition.kind === 'node-registered' && transition.evidence.verdict) entry.verdict = verdictView(transition.evidence.verdict);
  return entry;
}

const time = (ms: number | undefined) => (ms === undefined ? undefined : toRfc3339(ms));

function failuresView(failures: FailedAttempts | undefined): EvidenceView['failed_attempts'] {
  return (
    failures && {
      count: failures.count,
      first_at: toRfc3339(failures.firstAt),
      first_error: failures.firstError,
      last_at: toRfc3339(failures.lastAt),
      last_error: failures.lastError,
    }
  );
}

function evidenceView(transition: TransitionRecord): EvidenceView {
  const view: EvidenceView = {};
  switch (transition.kind) {
    case 'node-registered': {
      const { evidence: e } = transition;
      Object.assign(view, {
        hostname: e.hostname,
        identity: e.identity,
        boot_id: e.bootId,
        agent_version: e.agentVersion,
        address: e.address,
        agent_process_id: e.agent?.processId,
        agent_started_at: time(e.agent?.processStartedAt),
        host_booted_at: time(e.agent?.hostBootedAt),
        failed_attempts: failuresView(e.agent?.failures),
        superseded_node_id: e.supersededNodeId,
      });
      break;
    }
    case 'node-terminated': {
      const { evidence: e } = transition;
      Object.assign(view, {
        last_heartbeat: toRfc3339(e.lastHeartbeat),
        deadline: time(e.deadline),
        decided_by: e.decidedBy,
        hold: e.hold,
        superseded_by: e.supersededBy,
        maintenance: e.maintenance && { until: toRfc3339(e.maintenance.until), reason: e.maintenance.reason },
      });
      break;
    }
    case 'registration-refused': {
      const { evidence: e } = transition;
      Object.assign(view, {
        hostname: e.hostname,
        identity: e.identity,
        boot_id: e.bootId,
        address: e.address,
        active_node_id: e.activeNodeId,
        last_heartbeat: toRfc3339(e.lastHeartbeat),
        other_identity: e.otherIdentity,
      });
      break;
    }
    case 'health-changed':
      Object.assign(view, { previous_status: transition.evidence.previous, failing_checks: transition.evidence.failing });
      break;
    case 'hold-started': {
      const { evidence: e } = transition;
      Object.assign(view, { silent: e.silent, active: e.active, timed_out: e.timedOut, threshold: e.threshold });
      break;
    }
    case 'hold-ended':
      break;
    case 'maintenance-changed': {
      const { evidence: e } = transition;
      Object.assign(view, { until: e.until === null ? null : toRfc3339(e.until), reason: e.reason, set_by: e.setBy });
      break;
    }
    case 'monitor-status-changed': {
      const { evidence: e } = transition;
      Object.assign(view, { event_id: e.eventId, ...statusesView(e.statuses), previous: statusesView(e.previous) });
      break;
    }
  }
  // Absent evidence is left out, not sent as null.
  return definedOnly(view);
}

function statusesView(statuses: MonitorStatuses): NonNullable<EvidenceView['previous']> {
  return { all_healthy: statuses.allHealthy, api_status: statuses.api, compiler_status: statuses.compiler, runner_status: statuses.runner };
}

function verdictView(verdict: OutageVerdict): VerdictView {
  const view: VerdictView = { outcome: verdict.outcome, previous_node_id: verdict.previousNodeId, silent_since: toRfc3339(verdict.silentSince) };
  switch (verdict.outcome) {
    case 'rebooted':
      if (verdict.bootedAt !== undefined) view.booted_at = toRfc3339(verdict.bootedAt);
      break;
    case 'agent-restarted':
      view.agent_started_at = toRfc3339(verdict.agentStartedAt);
      break;
    case 'cut-off':
      view.failed_attempts = failuresView(verdict.failures)!;
      break;
    case 'unknown':
      view.why = verdict.why;
      break;
  }
  return view;
}
