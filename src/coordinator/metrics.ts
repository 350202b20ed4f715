import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../shared/clock.ts';
import { AGENT_STALL_MS, type AgentReports } from './state/agent-reports.ts';
import type { HeartbeatFreshness } from './state/heartbeat-freshness.ts';
import type { NodeDirectory } from './state/node-directory.ts';
import type { SafetyHolds } from './sweeper/safety-holds.ts';

export interface CoordinatorMetrics {
  registry: Registry;
  terminations: Counter<'reason'>;
  stalls: Counter;
  /** Set by the sweeper after each sweep. */
  sweepDuration: Gauge;
  authFailures: Counter<'reason'>;
  authThrottled: Counter;
}

/** Prometheus metrics: fleet size, soft-state backlog, sweep cost and every safety hold. */
export function createMetrics(parts: {
  directory: NodeDirectory;
  heartbeats: Pick<HeartbeatFreshness, 'pending'>;
  agentReports: AgentReports;
  holds: SafetyHolds;
  clock: Clock;
  /** Whether this replica is the one that sweeps (always true on SQLite). */
  isLeader?: () => boolean;
}): CoordinatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'nodepulse_' });
  const terminations = new Counter({ name: 'nodepulse_node_terminations_total', help: 'Nodes terminated, by reason', labelNames: ['reason'], registers: [registry] });
  const stalls = new Counter({
    name: 'nodepulse_coordinator_stalls_total',
    help: 'Gaps in the coordinator’s own progress (a blocked event loop, a stopped process, a frozen VM), each followed by a timeout grace',
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'nodepulse_auth_failures_total',
    help: 'Failed authentications (answered 401), by reason: missing (no bearer token), invalid (an unknown, revoked or wrong token), jwt_* (a JWT that failed that check)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const authThrottled = new Counter({
    name: 'nodepulse_auth_throttled_total',
    help: 'Requests answered 429 because their client address had too many failed authentications in its window',
    registers: [registry],
  });
  new Gauge({
    name: 'nodepulse_known_active_nodes',
    help: 'Active nodes in this replica’s node directory',
    registers: [registry],
    collect() {
      this.set(parts.directory.size);
    },
  });
  new Gauge({
    name: 'nodepulse_pending_heartbeats',
    help: 'Heartbeat timestamps waiting for the next batched write',
    registers: [registry],
    collect() {
      this.set(parts.heartbeats.pending);
    },
  });
  new Gauge({
    name: 'nodepulse_agents_stalled',
    help: `Agents whose latest heartbeat through this replica reported an event-loop stall of ${AGENT_STALL_MS / 1000} s or more`,
    registers: [registry],
    collect() {
      this.set(parts.agentReports.stalled);
    },
  });
  new Gauge({
    name: 'nodepulse_agent_event_loop_delay_max_seconds',
    help: 'The longest event-loop stall in the agents’ latest heartbeats through this replica',
    registers: [registry],
    collect() {
      this.set(parts.agentReports.longestStallMs() / 1000);
    },
  });
  const sweepDuration = new Gauge({ name: 'nodepulse_sweep_duration_seconds', help: 'Duration of the last sweep', registers: [registry] });
  new Gauge({
    name: 'nodepulse_safety_holds',
    help: 'Safety holds in force (kind=grace|mass_silence): a timeout grace after the coordinator’s own gap, clusters whose terminations are held',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const holds = parts.holds.view(parts.clock.now());
      this.set({ kind: 'grace' }, holds.graceUntil ? 1 : 0);
      this.set({ kind: 'mass_silence' }, holds.massSilence.length);
    },
  });
  new Gauge({
    name: 'nodepulse_sweeper_leader',
    help: '1 on the replica that sweeps and records scheduled monitor events, 0 on the others',
    registers: [registry],
    collect() {
      this.set(parts.isLeader?.() === false ? 0 : 1);
    },
  });
  return { registry, terminations, stalls, sweepDuration, authFailures, authThrottled };
}
