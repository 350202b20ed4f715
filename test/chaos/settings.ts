/**
 * Sizes and timings of the fault campaigns. `npm test` runs the SHORT size (a few trials per
 * campaign); `npm run chaos` (NODEPULSE_CHAOS=full) the full one. The assertions are the same.
 */
export const FULL = process.env.NODEPULSE_CHAOS === 'full';

/**
 * Coordinator timing: heartbeats every 2 s, timed out after 6 s of silence (three intervals), agents'
 * backoff capped at 3 s (unless told otherwise); the grace after the coordinator's own downtime
 * is timeout + cap (9 s).
 * A mass-silence hold ends by itself after 12 s (two timeouts).
 */
export const INTERVAL_SECS = 2;
export const TIMEOUT_SECS = 6;
/**
 * NODEPULSE_CHAOS_RETRY_CAP_SECS sets the agents' cap (and the coordinator's, which it hands
 * out): above the timeout, a build whose grace is one timeout shows its fault (see BASELINE).
 */
export const RETRY_CAP_SECS = Number(process.env.NODEPULSE_CHAOS_RETRY_CAP_SECS ?? 3);
export const MAX_HOLD_SECS = 12;

export const INTERVAL_MS = INTERVAL_SECS * 1000;
export const TIMEOUT_MS = TIMEOUT_SECS * 1000;
export const RETRY_CAP_MS = RETRY_CAP_SECS * 1000;
/** The grace after the coordinator's own downtime, as the README states it: timeout + the agents' backoff cap. */
export const GRACE_MS = TIMEOUT_MS + RETRY_CAP_MS;
/** How long a campaign keeps watching after a fault ends: the grace, then a whole timeout. */
export const WATCH_AFTER_FAULT_MS = GRACE_MS + TIMEOUT_MS;
/** Agents' per-request timeout: one interval. */
export const REQUEST_TIMEOUT_MS = INTERVAL_MS;

/**
 * NODEPULSE_CHAOS_BASELINE=<checkout>: the campaigns run against that checkout's coordinator
 * (its bin/nodepulse serves and creates tokens) while the fleet and the judging stay this
 * checkout's, to show what an older build does in the same world. A build from before
 * agentRetryMaxDelaySecs is not told the cap (its agents keep theirs: RETRY_CAP_SECS).
 */
export const BASELINE = process.env.NODEPULSE_CHAOS_BASELINE;

export const COORDINATOR_ARGS = [
  '--heartbeat-interval',
  String(INTERVAL_SECS),
  '--heartbeat-timeout',
  String(TIMEOUT_SECS),
  ...(BASELINE ? [] : ['--agent-retry-max-delay-secs', String(RETRY_CAP_SECS)]),
  '--mass-silence-max-hold-secs',
  String(MAX_HOLD_SECS),
  '--log-level',
  'info',
];

/** Live nodes per campaign world: simulated nodes and the real agents together (plus a few nodes killed for good, in a cluster of their own). */
export const FLEET_SIZE = FULL ? 200 : 100;
export const REAL_AGENTS = 3;
export const DEAD_NODES = 3;

/** The longest a dead node may take to be timed out after its deadline (the sweep runs every second). */
export const DETECTION_BOUND_MS = 1_500;

/** vitest's limit per test: a full campaign, or the short world running all four campaigns. */
export const CAMPAIGN_TIMEOUT_MS = FULL ? 25 * 60_000 : 12 * 60_000;
