import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { type AppDeps, buildApp } from './app.ts';
import { Authenticator } from './auth/authenticator.ts';
import { AuthFailureGuard } from './auth/failure-guard.ts';
import { FailureLimiter } from './auth/failure-limiter.ts';
import type { JwtSettings } from './auth/jwt-settings.ts';
import { JwtVerifier } from './auth/jwt-verifier.ts';
import type { CoordinatorConfig, TimeoutSettings } from './config.ts';
import { LeaderElection } from './leadership/leader-election.ts';
import type { LeaderLock } from './leadership/leader-lock.ts';
import { ClusterService } from './clusters/cluster-service.ts';
import { HealthCheckTracker } from './instances/health-check-tracker.ts';
import { InstanceService } from './instances/instance-service.ts';
import { createMetrics } from './metrics.ts';
import { EventRecorder } from './monitor/event-recorder.ts';
import { observe } from './monitor/monitor-probe.ts';
import { NodeService } from './node-service.ts';
import { AgentReports } from './state/agent-reports.ts';
import { HeartbeatBuffer } from './state/heartbeat-buffer.ts';
import { NodeDirectory } from './state/node-directory.ts';
import type { Store } from './store/store.ts';
import { Sweeper } from './sweeper/sweeper.ts';

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
}

export interface Coordinator {
  app: FastifyInstance;
  nodes: NodeService;
  sweeper: Sweeper;
  leadership: LeaderElection;
  instances: InstanceService;
  healthChecks: HealthCheckTracker;
  monitor: EventRecorder;
  /** Starts the schedules (sweeper, heartbeat flush). Tests drive them by hand instead. */
  start(): void;
  /** Stops schedules, writes the pending heartbeats and closes the HTTP server (not the store). */
  stop(): Promise<void>;
}

/** Pending health checks are re-read from the store this often (requests made through another replica). */
const HEALTH_CHECK_REFRESH_MS = 5000;
/** Client addresses the failed-authentication limit remembers at most (about 100 bytes each). */
const AUTH_FAILURE_ADDRESSES = 10_000;
/** Each replica says it is alive this often; the monitor counts replicas seen within three times that. */
const REPLICA_PRESENCE_MS = 10_000;

/** Wires the coordinator's parts together from its dependencies. */
export async function createCoordinator(deps: CoordinatorDeps): Promise<Coordinator> {
  const { store, clock, logger, config, settings } = deps;
  const directory = new NodeDirectory(store);
  const heartbeats = new HeartbeatBuffer();
  const agentReports = new AgentReports();
  let accepting = true;
  let sweeper: Sweeper | undefined;
  const leadership = new LeaderElection({
    lock: deps.leaderLock,
    ping: () => store.ping(),
    logger,
    intervalMs: deps.leaderCheckMs ?? 1000,
    // Nobody is timed out for one full timeout after a takeover or an outage: not the nodes' fault.
    onGained: () => sweeper?.grantGrace('takeover'),
    onStoreRecovered: () => sweeper?.grantGrace('store outage'),
  });
  const metrics = createMetrics({ directory, heartbeats, agentReports, sweeper: () => sweeper, isLeader: () => leadership.isLeader() });
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
  });
  const instances = new InstanceService({ store, clock, heartbeats, agentReports, healthChecks });
  const startedAt = clock.now();
  const clusters = new ClusterService({ store, nodes, controller: () => ({ running: accepting, startedAt }) });
  sweeper = new Sweeper({
    store,
    clock,
    settings,
    logger,
    schedule: config.sweepSchedule,
    flushHeartbeats: () => nodes.flushHeartbeats(),
    bufferedHeartbeat: (nodeId) => heartbeats.pendingFor(nodeId),
    isLeader: () => leadership.isLeader(),
    sharedStore: deps.leaderLock !== undefined,
    onTerminated: (nodeIds) => {
      for (const nodeId of nodeIds) directory.markTerminated(nodeId);
      metrics.terminations.inc({ reason: 'HeartbeatTimeout' }, nodeIds.length);
    },
    onStall: () => metrics.stalls.inc(),
    ...(deps.sweepPageSize ? { pageSize: deps.sweepPageSize } : {}),
  });
  const activeSweeper = sweeper;
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
        sweeper: activeSweeper,
        accepting: () => accepting,
        isLeader: () => leadership.isLeader(),
        startedAt,
        replicasSeenSince: () => clock.now() - 3 * REPLICA_PRESENCE_MS,
      }),
    // With several replicas on one store, only the sweeping replica records scheduled events.
    shouldRecordScheduled: () => leadership.isLeader(),
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
    clusters,
    store,
    clock,
    metrics: metrics.registry,
    accepting: () => accepting,
    bodyLimitBytes: config.bodyLimitBytes,
    requestReceiveTimeoutMs: config.requestReceiveTimeoutMs,
    https: deps.https,
  });

  let flushTimer: NodeJS.Timeout | undefined;
  let presenceTimer: NodeJS.Timeout | undefined;
  const replicaId = randomUUID();
  // A store outage shows in /readyz and the leader election's log; presence simply resumes after it.
  const announce = () =>
    void store.touchReplica(replicaId, startedAt, clock.now(), clock.now() - 60 * REPLICA_PRESENCE_MS).catch(() => undefined);
  // Logged once per failing spell (a store outage fails every flush), and once when writes work again.
  let flushFailing = false;
  const flush = () =>
    nodes.flushHeartbeats().then(
      () => {
        if (!flushFailing) return;
        flushFailing = false;
        logger.info('writing heartbeats works again');
        // Heartbeats this replica received meanwhile are in the store only now: a gap in its progress.
        activeSweeper.grantGrace('store outage');
      },
      (error: unknown) => {
        if (!flushFailing) logger.error('writing heartbeats failed; keeping them for the next try', { error });
        flushFailing = true;
      },
    );
  return {
    app,
    nodes,
    sweeper: activeSweeper,
    leadership,
    instances,
    healthChecks,
    monitor,
    start() {
      activeSweeper.start();
      healthChecks.start();
      monitor.start();
      leadership.start();
      flushTimer = setInterval(() => void flush(), config.flushIntervalMs);
      announce();
      presenceTimer = setInterval(announce, REPLICA_PRESENCE_MS);
      presenceTimer.unref();
    },
    async stop() {
      accepting = false;
      clearInterval(flushTimer);
      clearInterval(presenceTimer);
      healthChecks.stop();
      await monitor.stop();
      await activeSweeper.stop();
      await leadership.stop().catch((error: unknown) => logger.error('releasing leadership failed', { error }));
      try {
        await app.close();
      } finally {
        await flush();
      }
    },
  };
}
