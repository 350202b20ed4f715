import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { type AppDeps, buildApp } from './app.ts';
import { Authenticator } from './auth/authenticator.ts';
import { AuthFailureGuard } from './auth/failure-guard.ts';
import { FailureLimiter } from './auth/failure-limiter.ts';
import type { JwtSettings } from './auth/jwt-settings.ts';
import { JwtVerifier } from './auth/jwt-verifier.ts';
import { ClusterService } from './clusters/cluster-service.ts';
import { type Component, ComponentRunner, named } from './component-runner.ts';
import type { CoordinatorConfig, TimeoutSettings } from './config.ts';
import { FleetCounts } from './fleet/fleet-counts.ts';
import { type ListenAddress, httpServer } from './http/http-server.ts';
import { HistoryService } from './history/history-service.ts';
import { HealthCheckTracker } from './instances/health-check-tracker.ts';
import { InstanceService } from './instances/instance-service.ts';
import { LeaderElection } from './leadership/leader-election.ts';
import type { LeaderLock } from './leadership/leader-lock.ts';
import { ReplicaPresence } from './leadership/replica-presence.ts';
import { createMetrics } from './metrics.ts';
import { EventRecorder } from './monitor/event-recorder.ts';
import { observe } from './monitor/monitor-probe.ts';
import { NodeService } from './node-service.ts';
import { Readiness } from './readiness.ts';
import { HistoryRetention } from './retention/history-retention.ts';
import { AgentReports } from './state/agent-reports.ts';
import { HeartbeatFreshness } from './state/heartbeat-freshness.ts';
import { NodeDirectory } from './state/node-directory.ts';
import type { Store } from './store/store.ts';
import { SafetyHolds } from './sweeper/safety-holds.ts';
import { Sweeper } from './sweeper/sweeper.ts';
import { TransitionFeed } from './watch/transition-feed.ts';
import { type Deliver, httpDeliver } from './webhooks/webhook-delivery.ts';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.ts';
import { registerWebhookMetrics } from './webhooks/webhook-metrics.ts';
import type { WebhookSettings } from './webhooks/webhook-settings.ts';

export interface CoordinatorDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  config: CoordinatorConfig;
  settings: TimeoutSettings;
  /** Elects the one sweeping replica on a shared store; absent (SQLite): this process always sweeps. */
  leaderLock?: LeaderLock | undefined;
  /** How often a replica tries or checks the leader lock (and watches the store); 1 s by default. */
  leaderCheckMs?: number;
  /** Expired nodes the sweeper terminates per cluster and sweep (tests use a small page). */
  sweepPageSize?: number;
  /** JWT bearer tokens (resolveJwtSettings); absent, only API keys are accepted. */
  jwt?: JwtSettings | undefined;
  /** TLS options of the HTTPS server (tls-context.ts); plain HTTP without them. */
  https?: AppDeps['https'];
  /** Where start() listens (main.ts); absent, the app only answers app.inject() or the caller's own listen(). */
  listen?: ListenAddress | undefined;
  /** This replica's name in the transitions it records; its host and process id by default. */
  replica?: string | undefined;
  /** Webhook sinks (resolveWebhookSettings); absent, none. */
  webhooks?: WebhookSettings | undefined;
  /** How a webhook delivery is sent: an HTTP POST by default (tests record them instead). */
  webhookDeliver?: Deliver | undefined;
}

export interface Coordinator extends Component {
  app: FastifyInstance;
  nodes: NodeService;
  heartbeats: HeartbeatFreshness;
  holds: SafetyHolds;
  sweeper: Sweeper;
  leadership: LeaderElection;
  instances: InstanceService;
  healthChecks: HealthCheckTracker;
  monitor: EventRecorder;
  /** Reads the transitions log for the watch streams. */
  feed: TransitionFeed;
  /** Starts every component in order: heartbeat writes, the server (listening when given an address), then the schedules. Tests drive single parts by hand instead. */
  start(): Promise<void>;
  /** Stops every component in reverse: requests first, the last heartbeats written last (the store stays open). */
  stop(): Promise<void>;
}

/** Pending health checks are re-read from the store this often (requests made through another replica). */
const HEALTH_CHECK_REFRESH_MS = 5000;
/** Client addresses the failed-authentication limit remembers at most (about 100 bytes each). */
const AUTH_FAILURE_ADDRESSES = 10_000;
/**
 * How often the fleet counts are read again from the store: alone on it, a replica makes every
 * change itself and the reconcile only checks; beside other replicas, it is how their changes
 * arrive, so it bounds how stale the counts may be.
 */
const FLEET_RECONCILE_MS = { alone: 5 * 60_000, shared: 30_000 };
/** Old transitions and Terminated nodes are deleted this often (and once at start). */
const RETENTION_PERIOD_MS = 10 * 60_000;
/** The watch streams read the transitions log this often: other replicas' transitions reach this one's watchers this late at most. */
const WATCH_POLL_MS = 500;
/** Each webhook sink looks for new events and due retries this often. */
const WEBHOOK_POLL_MS = 1000;

/** Wires the coordinator's parts together from its dependencies; its components are listed at the end. */
export async function createCoordinator(deps: CoordinatorDeps): Promise<Coordinator> {
  const { store, clock, logger, config, settings } = deps;
  const startedAt = clock.now();
  const replica = deps.replica ?? `${hostname()}/${process.pid}`;
  const readiness = new Readiness();
  const directory = new NodeDirectory(store, logger);
  const agentReports = new AgentReports();
  // Whatever notices a gap in the coordinator's progress grants the grace here; the sweeper judges by it.
  const holds = new SafetyHolds(settings, clock, logger, (transition) => {
    store
      .recordTransitions([transition])
      .then(() => feed.poke())
      .catch((error: unknown) => logger.warn('recording a safety hold in the transitions log failed', { error, kind: transition.kind, clusterId: transition.clusterId }));
  });
  const heartbeats = new HeartbeatFreshness({ store, directory, logger, flushIntervalMs: config.flushIntervalMs, grace: holds });
  const leadership = new LeaderElection({ lock: deps.leaderLock, ping: () => store.ping(), logger, intervalMs: deps.leaderCheckMs ?? 1000, grace: holds });
  const isLeader = () => leadership.isLeader();
  const fleet = new FleetCounts({
    store,
    logger,
    reconcileMs: deps.leaderLock ? FLEET_RECONCILE_MS.shared : FLEET_RECONCILE_MS.alone,
    knownInstanceOf: (nodeId) => directory.peek(nodeId)?.instanceId,
    clock,
  });
  const metrics = createMetrics({
    directory,
    heartbeats,
    agentReports,
    holds,
    clock,
    fleet,
    store,
    accepting: () => readiness.accepting,
    // Read at scrape time, once the sweeper below exists.
    sweepOverdueMs: () => sweeper.overdueMs(),
    isLeader,
  });
  const feed = new TransitionFeed({ store, logger, pollMs: WATCH_POLL_MS });
  const healthChecks = new HealthCheckTracker({ store, clock, logger, timeoutMs: config.healthCheckTimeoutSecs * 1000, refreshMs: HEALTH_CHECK_REFRESH_MS });
  const nodes = new NodeService({
    store,
    clock,
    settings,
    directory,
    heartbeats,
    agentReports,
    logger,
    healthCheckPending: (instanceId) => healthChecks.isPending(instanceId),
    onHealthReport: (instanceId) => healthChecks.reported(instanceId),
    fleet,
    replica,
    onTransition: () => feed.poke(),
    metrics: metrics.protocol,
  });
  const instances = new InstanceService({ store, clock, heartbeats, agentReports, healthChecks, fleet });
  const clusters = new ClusterService({ store, nodes, fleet, controller: () => ({ running: readiness.accepting, startedAt }) });
  const sweeper = new Sweeper({
    store,
    clock,
    settings,
    logger,
    schedule: config.sweepSchedule,
    holds,
    heartbeats,
    isLeader,
    sharedStore: deps.leaderLock !== undefined,
    onTerminated: (nodeIds, detectionDelaysMs) => {
      // Before the directory forgets them: it names their instances.
      void fleet.timedOut(nodeIds).catch((error: unknown) => logger.error('updating the fleet counts after a sweep failed', { error }));
      for (const nodeId of nodeIds) directory.markTerminated(nodeId);
      metrics.protocol.timedOut(detectionDelaysMs);
      feed.poke();
    },
    onStall: () => metrics.stalls.inc(),
    onSwept: (result) => metrics.sweepDuration.observe(result.durationMs / 1000),
    onSilenceCounted: (durationMs) => metrics.silenceCountDuration.observe(durationMs / 1000),
    ...(deps.sweepPageSize ? { pageSize: deps.sweepPageSize } : {}),
    replica,
    onTransition: () => feed.poke(),
  });
  const presence = new ReplicaPresence(store, clock, startedAt);
  const webhooks =
    deps.webhooks &&
    new WebhookDispatcher({
      settings: deps.webhooks,
      store,
      clock,
      logger,
      deliver: deps.webhookDeliver ?? httpDeliver(deps.webhooks.timeoutMs),
      metrics: registerWebhookMetrics(metrics.registry, { outbox: store.webhookOutbox, sinks: deps.webhooks.sinks.map((sink) => sink.name) }),
      // With several replicas only the sweeping one delivers; a new one resumes from the store's outbox.
      isLeader,
      pollMs: WEBHOOK_POLL_MS,
    });
  const retention = new HistoryRetention({
    store,
    clock,
    logger,
    maxAgeMs: config.historyRetentionDays * 86_400_000,
    periodMs: RETENTION_PERIOD_MS,
    shouldRun: isLeader,
  });
  const monitor = new EventRecorder({
    store,
    clock,
    logger,
    schedule: config.monitorSchedule,
    keepaliveMs: config.monitorKeepaliveSecs * 1000,
    observe: () =>
      observe({
        store,
        clock,
        agentReports,
        fleet,
        sweeper,
        accepting: () => readiness.accepting,
        isLeader,
        startedAt,
        replicasSeenSince: () => presence.seenSince(),
      }),
    // With several replicas on one store, only the sweeping replica records scheduled events.
    shouldRecordScheduled: isLeader,
    onTransition: () => feed.poke(),
  });
  const jwt = deps.jwt && { verifier: new JwtVerifier(deps.jwt, clock, logger), clusterId: (name: string) => nodes.clusterId(name, clock.now()) };
  const authenticator = new Authenticator(store, directory, clock, config.tokenCacheSecs * 1000, jwt);
  const authFailures = new AuthFailureGuard({
    limiter: new FailureLimiter({ limit: config.authFailureLimit, windowMs: config.authFailureWindowSecs * 1000, maxAddresses: AUTH_FAILURE_ADDRESSES }),
    clock,
    logger,
    windowSecs: config.authFailureWindowSecs,
    throttleDelayMs: config.authThrottleDelayMs,
    failures: metrics.authFailures,
    throttled: metrics.authThrottled,
  });
  const app = await buildApp({
    logger,
    authenticator,
    authFailures,
    nodes,
    sweeper,
    instances,
    history: new HistoryService(store),
    clusters,
    feed,
    store,
    clock,
    metrics: metrics.registry,
    requestMetrics: metrics.requests,
    accepting: () => readiness.accepting,
    bodyLimitBytes: config.bodyLimitBytes,
    requestReceiveTimeoutMs: config.requestReceiveTimeoutMs,
    https: deps.https,
  });

  // Stopped in reverse: readiness drops first (/readyz drains the load balancer), the sweeper
  // stops before leadership is released, the server answers what is in flight, and the
  // heartbeats received until then are written last.
  const components = new ComponentRunner(
    [
      // Loads in the background: the server answers meanwhile, learning a node it misses from the store.
      directory,
      heartbeats,
      // Loaded before the server answers, so no count is ever read half-loaded.
      fleet,
      httpServer(app, deps.listen),
      // Stopped before the server: it ends the watch streams, which would otherwise hold the server's close.
      feed,
      leadership,
      sweeper,
      named('cluster monitor', monitor),
      named('health checks', healthChecks),
      // After leader election: only the leader delivers.
      ...(webhooks ? [webhooks] : []),
      retention,
      presence,
      readiness,
    ],
    logger,
  );
  return {
    name: 'coordinator',
    app,
    nodes,
    heartbeats,
    holds,
    sweeper,
    leadership,
    instances,
    healthChecks,
    monitor,
    feed,
    start: () => components.start(),
    stop: () => components.stop(),
  };
}
