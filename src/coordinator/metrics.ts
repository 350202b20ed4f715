import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../shared/clock.ts';
import type { ErrorCode } from '../shared/errors.ts';
import type { FleetCounts } from './fleet/fleet-counts.ts';
import type { RequestMetrics } from './http/request-metrics.ts';
import { registerFleetGauges } from './metrics/fleet-gauges.ts';
import { ProtocolMetrics } from './metrics/protocol-metrics.ts';
import { RequestDurations } from './metrics/request-durations.ts';
import { AGENT_STALL_MS, type AgentReports } from './state/agent-reports.ts';
import type { HeartbeatFreshness } from './state/heartbeat-freshness.ts';
import type { NodeDirectory } from './state/node-directory.ts';
import type { Store } from './store/store.ts';
import type { SafetyHolds } from './sweeper/safety-holds.ts';

export interface CoordinatorMetrics {
  registry: Registry;
  /** Registrations, heartbeats and terminations, and the detection delay of timed-out nodes. */
  protocol: ProtocolMetrics;
  /** Request durations by route, failures by error code (installed by the app). */
  requests: RequestMetrics;
  stalls: Counter;
  /** Observed by the sweeper after each sweep. */
  sweepDuration: Histogram;
  /** Observed by the sweeper after each count of silent nodes its mass-silence guard read (not for a count reused under a hold). */
  silenceCountDuration: Histogram;
  authFailures: Counter<'reason'>;
  authThrottled: Counter;
}

/** A sweep is a few milliseconds when nothing expired; a page of 50,000 expired nodes takes seconds. */
const SWEEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Error codes the alert rules watch: their series exist from the start, so an increase is seen from the first one. */
const ALERTED_ERROR_CODES: readonly ErrorCode[] = ['StoreUnavailable', 'InternalError'];
/** Past this, a scrape counts the store as down rather than wait on it. */
const STORE_PING_TIMEOUT_MS = 2000;

/**
 * Prometheus metrics: the agent protocol's counts, request and sweep durations, the fleet by
 * cluster, soft-state backlog, every safety hold, and Node's standard process metrics under their
 * usual names (`process_*`, `nodejs_*`), as stock dashboards expect them. docs/metrics.md lists them.
 */
export function createMetrics(parts: {
  directory: NodeDirectory;
  heartbeats: Pick<HeartbeatFreshness, 'pending'>;
  agentReports: AgentReports;
  holds: SafetyHolds;
  clock: Clock;
  fleet: Pick<FleetCounts, 'tallies'>;
  store: Store;
  /** False once shutdown began (as /readyz). */
  accepting: () => boolean;
  /** How far past due the next sweep is (Sweeper.overdueMs); null while this replica does not sweep. */
  sweepOverdueMs: () => number | null;
  /** Whether this replica is the one that sweeps (always true on SQLite). */
  isLeader?: () => boolean;
}): CoordinatorMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const protocol = new ProtocolMetrics(registry);
  const durations = new RequestDurations();
  durations.register(registry);
  const errors = new Counter({
    name: 'nodepulse_http_errors_total',
    help: 'Requests answered with an error, by error_code (StoreUnavailable: the store could not be reached; InternalError: a bug, logged in full)',
    labelNames: ['code'],
    registers,
  });
  for (const code of ALERTED_ERROR_CODES) errors.inc({ code }, 0);
  registerFleetGauges(registry, { fleet: parts.fleet, store: parts.store });
  registerReadiness(registry, parts);
  const stalls = new Counter({
    name: 'nodepulse_coordinator_stalls_total',
    help: 'Gaps in the coordinator’s own progress (a blocked event loop, a stopped process, a frozen VM), each followed by a timeout grace',
    registers,
  });
  const authFailures = new Counter({
    name: 'nodepulse_auth_failures_total',
    help: 'Failed authentications (answered 401), by reason: missing (no bearer token), invalid (an unknown, revoked or wrong token), jwt_* (a JWT that failed that check)',
    labelNames: ['reason'],
    registers,
  });
  const authThrottled = new Counter({
    name: 'nodepulse_auth_throttled_total',
    help: 'Requests answered 429 because their client address had too many failed authentications in its window',
    registers,
  });
  new Gauge({
    name: 'nodepulse_known_active_nodes',
    help: 'Active nodes in this replica’s node directory',
    registers,
    collect() {
      this.set(parts.directory.size);
    },
  });
  new Gauge({
    name: 'nodepulse_pending_heartbeats',
    help: 'Heartbeat timestamps waiting for the next batched write',
    registers,
    collect() {
      this.set(parts.heartbeats.pending);
    },
  });
  new Gauge({
    name: 'nodepulse_agents_stalled',
    help: `Agents whose latest heartbeat through this replica reported an event-loop stall of ${AGENT_STALL_MS / 1000} s or more`,
    registers,
    collect() {
      this.set(parts.agentReports.stalled);
    },
  });
  new Gauge({
    name: 'nodepulse_agent_event_loop_delay_max_seconds',
    help: 'The longest event-loop stall in the agents’ latest heartbeats through this replica',
    registers,
    collect() {
      this.set(parts.agentReports.longestStallMs() / 1000);
    },
  });
  const sweepDuration = new Histogram({ name: 'nodepulse_sweep_duration_seconds', help: 'Duration of each sweep', buckets: SWEEP_BUCKETS, registers });
  const silenceCountDuration = new Histogram({
    name: 'nodepulse_silence_count_duration_seconds',
    help: 'Event-loop time of each count of silent nodes the mass-silence guard read from the store (on a sweep with an expired node; while a hold is in force a count is reused, so they take at most a tenth of the loop)',
    buckets: SWEEP_BUCKETS,
    registers,
  });
  new Gauge({
    name: 'nodepulse_sweep_overdue_seconds',
    help: 'How far past due the next sweep is (beyond one schedule period and the late threshold since the last one ended); 0 on time, and on a replica that does not sweep',
    registers,
    collect() {
      this.set((parts.sweepOverdueMs() ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'nodepulse_safety_holds',
    help: 'Safety holds in force (kind=grace|mass_silence): a timeout grace after the coordinator’s own gap, clusters whose terminations are held',
    labelNames: ['kind'],
    registers,
    collect() {
      const holds = parts.holds.view(parts.clock.now());
      this.set({ kind: 'grace' }, holds.graceUntil ? 1 : 0);
      this.set({ kind: 'mass_silence' }, holds.massSilence.length);
    },
  });
  new Gauge({
    name: 'nodepulse_sweeper_leader',
    help: '1 on the replica that sweeps and records scheduled monitor events, 0 on the others',
    registers,
    collect() {
      this.set(parts.isLeader?.() === false ? 0 : 1);
    },
  });
  return { registry, protocol, requests: { durations, errors }, stalls, sweepDuration, silenceCountDuration, authFailures, authThrottled };
}

/** `nodepulse_store_up` and `nodepulse_ready` (what /readyz answers), from one store ping per scrape. */
function registerReadiness(registry: Registry, parts: { store: Pick<Store, 'ping'>; accepting: () => boolean }): void {
  let ping: Promise<boolean> | undefined;
  // The two gauges are collected together: they share the scrape's one ping.
  const storeUp = () => (ping ??= pingWithin(parts.store, STORE_PING_TIMEOUT_MS).finally(() => (ping = undefined)));
  new Gauge({
    name: 'nodepulse_store_up',
    help: `1 when the store answered a ping within ${STORE_PING_TIMEOUT_MS / 1000} s at this scrape, 0 otherwise`,
    registers: [registry],
    async collect() {
      this.set((await storeUp()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'nodepulse_ready',
    help: '1 when this replica takes requests (the store answers and it is not shutting down): what /readyz answers 200 to',
    registers: [registry],
    async collect() {
      this.set((await storeUp()) && parts.accepting() ? 1 : 0);
    },
  });
}

async function pingWithin(store: Pick<Store, 'ping'>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([store.ping().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
