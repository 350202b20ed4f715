/**
 * The agent daemon, assembled: identity, facts collector, health runner, heartbeat loop and the
 * session with the coordinator. start() registers and heartbeats; stop() stops every schedule
 * and deregisters within the deadline; reload() applies a new config (checks, labels, log level,
 * interval) without re-registering unless the identity changed. The service manager hears
 * READY once the loop runs, a watchdog ping whenever a beat completes, and STOPPING on stop().
 */
import { hostname } from 'node:os';
import { type Clock, systemClock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import type { HealthReport, HeartbeatRequest, HeartbeatResponse, NodeFacts, RegisterNodeRequest } from '../shared/protocol.ts';
import { VERSION } from '../shared/version.ts';
import { type AgentStatusReport, statusReport } from './agent-status.ts';
import { AttemptRecord } from './attempt-record.ts';
import type { AgentConfig } from './config.ts';
import type { Coordinator } from './coordinator-client.ts';
import { ContinuityRecorder } from './continuity.ts';
import { FactsCollector, type FactsSettings, factsFingerprint } from './facts-collector.ts';
import { type CheckRunner, HealthRunner } from './health/health-runner.ts';
import { type BeatOutcome, HeartbeatLoop, type Timers } from './heartbeat-loop.ts';
import { type Registration, NodeSession } from './node-session.ts';
import type { Probes } from './probes.ts';
import { SelfMonitor } from './self-report.ts';
import type { ServiceNotifier } from './systemd-notifier.ts';

export interface AgentDeps {
  config: AgentConfig;
  logger: Logger;
  coordinator: Coordinator;
  enrollToken: () => string;
  probes: Probes;
  identity: string;
  bootId?: string | undefined;
  /** Where the enrollment token comes from, for error messages (never the token itself). */
  tokenSource?: string;
  /** systemd (Type=notify); nothing is sent without one. */
  notifier?: ServiceNotifier;
  timers?: Timers;
  /** The time every timing decision reads (the heartbeat loop's too); the system clock by default. */
  clock?: Clock;
  /** Runs one health check; the real checks by default. */
  runCheck?: CheckRunner;
  /** Told the agent's status after every attempt (the status file). */
  onStatus?: (report: AgentStatusReport) => void;
}

const MIB = 1024 * 1024;
/** Registration waits at most this long for the first facts; late facts go out with a heartbeat. */
const FIRST_FACTS_WAIT_MS = 5_000;

export function factsSettings(config: AgentConfig): FactsSettings {
  return {
    collectorTimeoutMs: config.collectorTimeout * 1000,
    slowRefreshMs: config.factsRefreshInterval * 1000,
    fastRefreshMs: config.memoryRefreshInterval * 1000,
    diskMounts: config.diskMounts,
    advertiseAddress: config.advertiseAddress,
    capacity: { forksPerCpu: config.forksPerCpu, memPerForkMib: config.memPerForkMib, memReservedMib: config.memReservedMib },
    overrides: { cpus: config.cpuOverride, memoryBytes: config.memoryOverrideMib === undefined ? undefined : config.memoryOverrideMib * MIB },
  };
}

export class Agent {
  readonly facts: FactsCollector;
  readonly health: HealthRunner;
  readonly loop: HeartbeatLoop;
  readonly session: NodeSession;
  private config: AgentConfig;
  private readonly deps: AgentDeps;
  private readonly clock: Clock;
  private readonly self = new SelfMonitor();
  private readonly continuity: ContinuityRecorder;
  private sent = { facts: '', factsAt: 0, healthRuns: -1, labels: '' };
  private forceHealth = false;
  private coordinatorInterval: number | undefined;
  private identity: string;
  private readonly startedAt: number;
  private readonly attempts: AttemptRecord;

  constructor(deps: AgentDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.config = deps.config;
    this.identity = deps.identity;
    this.continuity = new ContinuityRecorder(this.clock);
    this.startedAt = this.clock.now();
    this.attempts = new AttemptRecord(this.clock, deps.logger);
    this.facts = new FactsCollector(deps.probes, factsSettings(deps.config));
    this.health = new HealthRunner(deps.config.checks, {
      logger: deps.logger,
      deps: { readMemory: () => this.readMemory(), outputLimit: deps.config.checkOutputLimit },
      ...(deps.runCheck ? { run: deps.runCheck } : {}),
    });
    this.session = new NodeSession({
      coordinator: deps.coordinator,
      enrollToken: deps.enrollToken,
      ...(deps.tokenSource ? { tokenSource: deps.tokenSource } : {}),
      logger: deps.logger,
      identity: () => this.identity,
      attempts: this.continuity,
      hooks: {
        registerBody: () => this.registerBody(),
        heartbeatBody: () => this.heartbeatBody(),
        heartbeatSent: (body) => this.markSent(body),
        onRegistered: (registration) => this.onRegistered(registration),
        onHeartbeatResponse: (response) => this.onHeartbeatResponse(response),
      },
    });
    const retryCap = deps.config.retryMaxDelay * 1000;
    this.loop = new HeartbeatLoop({
      intervalMs: deps.config.heartbeatInterval * 1000,
      phaseKey: deps.identity,
      // A fleet started at once (a data-centre power-on, a rollout) registers spread over one interval.
      startupDelayMs: (deps.config.startupDelay ?? deps.config.heartbeatInterval) * 1000,
      beat: () => this.beat(),
      retry: { baseMs: deps.config.retryBaseDelay * 1000, capMs: retryCap },
      slowRetry: { baseMs: deps.config.authRetryDelay * 1000, capMs: Math.max(deps.config.authRetryDelay * 1000, retryCap), jitter: 'equal' },
      // Any completed beat, a failed one included: the loop is alive even while the coordinator is down.
      onProgress: () => deps.notifier?.watchdog(),
      onWait: (outcome, delayMs) => this.afterAttempt(outcome, delayMs),
      clock: this.clock,
      ...(deps.timers ? { timers: deps.timers } : {}),
    });
  }

  /**
   * Collects facts (waiting at most a few seconds, so registration usually carries them), then
   * starts the heartbeat loop and the health checks. Collection keeps running on its own; facts
   * that arrive later go out with the next heartbeat.
   */
  async start(): Promise<void> {
    this.self.start();
    const firstFacts = this.facts.start();
    const bound = Math.min(this.config.collectorTimeout * 1000 + 100, FIRST_FACTS_WAIT_MS);
    await Promise.race([firstFacts, new Promise((resolve) => setTimeout(resolve, bound))]);
    if (this.facts.lastCollectionMs === undefined) {
      this.deps.logger.warn('registering before every fact is collected; the missing ones follow in a heartbeat', { waitedMs: bound });
    } else {
      this.deps.logger.debug('facts collected', { ms: this.facts.lastCollectionMs });
    }
    this.health.start();
    this.loop.start();
    this.logStartupWait();
    // Ready once heartbeating, not once registered: a coordinator that is down must not hang the start.
    this.deps.notifier?.ready();
    this.warnOnShortWatchdog();
  }

  /** Stops all schedules, then deregisters: the whole of it within `deadlineMs`. Resolves true when deregistered. */
  async stop(deadlineMs: number): Promise<boolean> {
    const started = this.clock.now();
    this.deps.notifier?.stopping();
    this.health.stop();
    this.facts.stop();
    this.self.stop();
    // A beat in flight (maybe a registration) gets a share of the deadline to finish.
    await Promise.race([this.loop.stop(), new Promise((resolve) => setTimeout(resolve, Math.min(1_000, deadlineMs / 2)))]);
    const left = Math.max(100, deadlineMs - (this.clock.now() - started));
    const done = await this.session.deregister(left);
    this.deps.coordinator.close();
    return done;
  }

  /**
   * Applies a reloaded config: checks, labels (sent with the next heartbeat), log level, interval.
   * A different identity registers again (as that identity).
   */
  reload(config: AgentConfig, identity: string = this.identity): void {
    this.config = config;
    this.deps.logger.level = config.logLevel;
    this.health.reload(config.checks);
    this.loop.setInterval((this.coordinatorInterval ?? config.heartbeatInterval) * 1000);
    if (identity !== this.identity) {
      this.deps.logger.warn('identity changed: deregistering the old node and registering again', { identity });
      this.identity = identity;
      void this.session.deregister(config.deregisterTimeout * 1000).then(() => {
        this.session.reset();
        this.loop.beatNow();
      });
    }
    this.deps.logger.info('configuration reloaded', { checks: config.checks.length, labels: Object.keys(config.labels).length });
  }

  private async readMemory(): Promise<NodeFacts['memory']> {
    await this.facts.refresh(['memory', 'cgroup']);
    return this.facts.facts().memory;
  }

  private registerBody(): RegisterNodeRequest {
    const facts = this.facts.facts();
    const host = this.config.hostname ?? facts.hostname ?? hostname();
    const body: RegisterNodeRequest = {
      identity: this.identity,
      hostname: host,
      name: this.config.name ?? host,
      labels: { ...this.config.labels },
      facts,
      continuity: this.continuity.report(),
    };
    if (this.deps.bootId) body.bootId = this.deps.bootId;
    if (this.config.cluster) body.cluster = this.config.cluster;
    return body;
  }

  private heartbeatBody(): HeartbeatRequest {
    const body: HeartbeatRequest = { agent: this.self.sample() };
    const facts = this.facts.facts();
    const stale = this.clock.now() - this.sent.factsAt >= this.config.factsRefreshInterval * 1000;
    if (factsFingerprint(facts) !== this.sent.facts || stale) body.facts = facts;
    const health = this.health.report() ?? (this.forceHealth ? { status: 'passing' as const, checks: [] } : undefined);
    if (health && (this.forceHealth || this.health.runCount !== this.sent.healthRuns)) body.health = health;
    const labels = JSON.stringify(this.config.labels);
    if (labels !== this.sent.labels) body.labels = { ...this.config.labels };
    return body;
  }

  private markSent(body: HeartbeatRequest): void {
    if (body.facts) this.sent = { ...this.sent, facts: factsFingerprint(body.facts), factsAt: this.clock.now() };
    if (body.health) {
      this.sent.healthRuns = this.health.runCount;
      this.forceHealth = false;
    }
    if (body.labels) this.sent.labels = JSON.stringify(body.labels);
  }

  private onRegistered(registration: Registration): void {
    const facts = this.facts.facts();
    this.sent = { facts: factsFingerprint(facts), factsAt: this.clock.now(), healthRuns: -1, labels: JSON.stringify(this.config.labels) };
    this.adoptInterval(registration.heartbeatIntervalSecs);
    this.adoptRetryCap(registration.retryMaxDelaySecs);
  }

  private onHeartbeatResponse(response: HeartbeatResponse): void {
    if (response.heartbeatIntervalSecs !== undefined) this.adoptInterval(response.heartbeatIntervalSecs);
    if (response.healthCheckRequested) void this.runRequestedCheck();
  }

  /** The coordinator's interval wins over the config from now on, through every reload. */
  private adoptInterval(secs: number): void {
    if (!(secs > 0)) return;
    this.coordinatorInterval = secs;
    if (secs * 1000 === this.loop.interval) return;
    this.deps.logger.info('heartbeat interval set by the coordinator', { heartbeatIntervalSecs: secs });
    this.loop.setInterval(secs * 1000);
    this.warnOnShortWatchdog();
  }

  /**
   * The coordinator's backoff cap wins over the config: its grace after its own downtime lasts a
   * timeout plus this cap, so an agent that backed off further could be timed out while alive.
   */
  private adoptRetryCap(secs: number | undefined): void {
    if (secs === undefined || !(secs > 0) || secs * 1000 === this.loop.retryCapMs) return;
    this.deps.logger.info('retry backoff cap set by the coordinator', { retryMaxDelaySecs: secs });
    this.loop.setRetryCap(secs * 1000);
    this.warnOnShortWatchdog();
  }

  /**
   * The loop may rightly go this long without completing a beat: the longest wait between two
   * attempts (interval, network backoff cap, slow retry after 401/403) plus one request.
   * The network cap is the coordinator's once it has said one.
   */
  private longestPauseMs(): number {
    const { authRetryDelay, requestTimeout } = this.deps.config;
    return Math.max(this.loop.interval, this.loop.retryCapMs, authRetryDelay * 1000) + requestTimeout * 1000;
  }

  private warnOnShortWatchdog(): void {
    const watchdogMs = this.deps.notifier?.watchdogMs;
    const pauseMs = this.longestPauseMs();
    if (watchdogMs === undefined || watchdogMs > pauseMs) return;
    this.deps.logger.warn('WatchdogSec is not longer than the longest pause between two heartbeat attempts: systemd may kill a healthy agent', {
      watchdogMs,
      longestPauseMs: pauseMs,
    });
  }

  /** The coordinator asked for a health check: run all checks, refresh facts, report at once. */
  private async runRequestedCheck(): Promise<void> {
    this.deps.logger.info('health check requested by the coordinator');
    await Promise.all([this.health.runAll(), this.facts.collectAll()]);
    this.forceHealth = true;
    this.sent.facts = '';
    this.loop.beatNow();
  }

  /** The latest health report (for status output). */
  healthReport(): HealthReport | undefined {
    return this.health.report();
  }

  /** What the status endpoint and the status file tell. */
  status(): AgentStatusReport {
    const now = this.clock.now();
    return statusReport(
      {
        version: VERSION,
        pid: process.pid,
        identity: this.identity,
        coordinator: this.config.coordinator ?? '',
        startedAt: this.startedAt,
        nodeId: this.session.current?.nodeId,
        connection: this.session.connectionState,
        lastAttempt: this.attempts.last,
        lastAcceptedAt: this.attempts.lastAcceptedAt,
        nextAttemptAt: this.loop.nextBeatAt,
        failures: this.loop.failureCount,
        backoffMs: this.attempts.backoffMs,
        intervalMs: this.loop.interval,
        requestTimeoutMs: this.config.requestTimeout * 1000,
        health: this.health.report(),
      },
      now,
    );
  }

  private async beat(): Promise<BeatOutcome> {
    const kind = this.session.current ? 'heartbeat' : 'registration';
    const outcome = await this.session.beat();
    this.attempts.attempted(kind, outcome);
    return outcome;
  }

  private afterAttempt(outcome: BeatOutcome, delayMs: number): void {
    this.attempts.waiting(outcome, delayMs, this.session.current !== undefined, this.loop.failureCount);
    this.deps.onStatus?.(this.status());
  }

  /** A fleet's start-up delay can hold the first registration for up to an interval: say so, rather than stay silent. */
  private logStartupWait(): void {
    const waitMs = (this.loop.nextBeatAt ?? 0) - this.clock.now();
    if (waitMs <= 0) return;
    this.deps.logger.info("waiting for this node's slot before registering (startupDelay spreads a fleet started at once)", {
      registerInSecs: Math.round(waitMs / 100) / 10,
    });
    this.deps.onStatus?.(this.status());
  }
}
