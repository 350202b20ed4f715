/**
 * A simulated fleet for fault campaigns: hundreds of nodes in the test process, each built from
 * the agent's own code, wired the way src/agent/agent.ts wires it:
 *
 * - `CoordinatorClient` (got, one per node: its own kept-alive connection, as a host has),
 * - `NodeSession` (register, heartbeat, register again after 404/410),
 * - `HeartbeatLoop` (phase offset from the node's identity, start-up delay, capped exponential
 *   backoff with full jitter, real timers); on registration the node adopts the coordinator's
 *   interval and backoff cap (`heartbeatIntervalSecs`, `retryMaxDelaySecs`).
 *
 * Each node has its own identity (a random UUID), hostname and boot id. It records every nodeId
 * it was given and when, every request and its outcome, and whether it is meant to be alive.
 * `kill()` is a dead host (no more heartbeats, no deregistration); `restart()` is an agent
 * process restart (same identity and boot id, a new registration), graceful (deregistered
 * first) or not (a crash: the coordinator supersedes the old node).
 */
import { randomUUID } from 'node:crypto';
import winston from 'winston';
import { type Coordinator, CoordinatorClient, CoordinatorError } from '../../src/agent/coordinator-client.ts';
import { HeartbeatLoop } from '../../src/agent/heartbeat-loop.ts';
import { NodeSession } from '../../src/agent/node-session.ts';
import type { DeregisterRequest, HeartbeatRequest, HeartbeatResponse, RegisterNodeRequest, RegisterNodeResponse } from '../../src/shared/protocol.ts';

/** The agent's own defaults (src/agent/config.ts) unless a campaign says otherwise. */
const AGENT_RETRY_BASE_MS = 500;
const AGENT_RETRY_MAX_MS = 30_000;

const silentLogger = winston.createLogger({ silent: true });

export type Outcome =
  | 'ok'
  /** 404/410: the coordinator forgot or terminated the node. */
  | 'gone'
  /** No HTTP answer: refused, reset, timed out. */
  | 'network'
  /** Another HTTP error (5xx, 409...). */
  | 'http';

export interface Attempt {
  kind: 'register' | 'heartbeat' | 'deregister';
  startedAt: number;
  endedAt: number;
  outcome: Outcome;
  status?: number;
  /** Why it failed (the client's error message, shortened). */
  error?: string;
  /** The node the request was about (heartbeat, deregister) or got (register). */
  nodeId?: string;
}

export interface Registration {
  nodeId: string;
  at: number;
}

export interface Deregistration {
  nodeId: string;
  at: number;
  acked: boolean;
}

/** What every fleet member (simulated or a real agent process) tells the verdict. */
export interface Member {
  readonly label: string;
  readonly kind: 'sim' | 'agent';
  readonly group: string;
  registrations(): Registration[];
  readonly deregistrations: Deregistration[];
  /** False once killed: a dead host. */
  readonly meantAlive: boolean;
  readonly killedAt: number | undefined;
  /** The nodeId it held when killed. */
  readonly killedNodeId: string | undefined;
  /** Its own requests (sim nodes only), for telling a coordinator fault from a starved test process. */
  readonly attempts: Attempt[];
  currentNodeId(): string | undefined;
}

export interface SimFleetOptions {
  /** Enrollment token (or an admin token). */
  enrollToken: string;
  /** The cluster to join (with an admin token; an enroll token implies its own). */
  cluster?: string;
  /** Per-request timeout: about one interval. */
  requestTimeoutMs: number;
  /** The interval before the coordinator says one. */
  intervalMs: number;
  /** Upper bound of the wait before registering (the agent's startupDelay). */
  startupDelayMs: number;
  /** A prefix for hostnames, so campaigns running side by side tell their nodes apart. */
  label: string;
  /**
   * The backoff cap until the coordinator hands out its own (the agent's retryMaxDelay, 30 s by
   * default). Operators set it to the coordinator's agentRetryMaxDelaySecs (the defaults agree):
   * an agent restarted while the coordinator is down cannot learn the coordinator's cap.
   */
  retryCapMs?: number;
  /** Slow retry after 401/403/409 (the agent's authRetryDelay, shortened for campaigns). */
  slowRetryMs?: number;
}

/** A coordinator client that records every request it makes. */
class RecordingCoordinator implements Coordinator {
  constructor(
    private readonly inner: CoordinatorClient,
    private readonly node: SimNode,
  ) {}

  async register(token: string, body: RegisterNodeRequest): Promise<RegisterNodeResponse> {
    return this.record('register', undefined, () => this.inner.register(token, body), (response) => response.nodeId);
  }

  async heartbeat(nodeToken: string, body: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.record('heartbeat', nodeIdOfToken(nodeToken), () => this.inner.heartbeat(nodeToken, body));
  }

  async deregister(nodeToken: string, body: DeregisterRequest, timeoutMs: number): Promise<void> {
    return this.record('deregister', nodeIdOfToken(nodeToken), () => this.inner.deregister(nodeToken, body, timeoutMs));
  }

  close(): void {
    this.inner.close();
  }

  private async record<T>(kind: Attempt['kind'], nodeId: string | undefined, call: () => Promise<T>, idOf?: (value: T) => string): Promise<T> {
    const startedAt = Date.now();
    try {
      const value = await call();
      const id = idOf ? idOf(value) : nodeId;
      this.node.attempts.push({ kind, startedAt, endedAt: Date.now(), outcome: 'ok', ...(id ? { nodeId: id } : {}) });
      return value;
    } catch (error) {
      const status = error instanceof CoordinatorError ? error.status : undefined;
      const outcome: Outcome = status === undefined ? 'network' : status === 404 || status === 410 ? 'gone' : 'http';
      const reason = (error as Error).message.replace(/^cluster_\w+: /, '').slice(0, 60);
      this.node.attempts.push({ kind, startedAt, endedAt: Date.now(), outcome, error: reason, ...(status ? { status } : {}), ...(nodeId ? { nodeId } : {}) });
      throw error;
    }
  }
}

/** Node tokens are npn_<nodeId>_<secret>. */
function nodeIdOfToken(token: string): string | undefined {
  const match = /^npn_([0-9a-f-]{36})_/.exec(token);
  return match?.[1];
}

export class SimNode implements Member {
  readonly kind = 'sim' as const;
  readonly identity = randomUUID();
  readonly bootId = randomUUID();
  readonly hostname: string;
  readonly attempts: Attempt[] = [];
  readonly deregistrations: Deregistration[] = [];
  private readonly registered: Registration[] = [];
  private alive = true;
  private killed: { at: number; nodeId: string | undefined } | undefined;
  private client: CoordinatorClient | undefined;
  private session: NodeSession | undefined;
  private loop: HeartbeatLoop | undefined;
  /** Restarts in progress are awaited before the fleet stops. */
  private pending: Promise<void> = Promise.resolve();

  constructor(
    readonly label: string,
    readonly group: string,
    private url: string,
    private readonly options: SimFleetOptions,
  ) {
    this.hostname = label;
  }

  get meantAlive(): boolean {
    return this.alive;
  }

  get killedAt(): number | undefined {
    return this.killed?.at;
  }

  get killedNodeId(): string | undefined {
    return this.killed?.nodeId;
  }

  registrations(): Registration[] {
    return this.registered;
  }

  currentNodeId(): string | undefined {
    return this.session?.current?.nodeId;
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  /** Like an agent process starting: a new client, session and loop; registers after the start-up delay. */
  start(): void {
    if (this.loop || !this.alive) return;
    const options = this.options;
    const client = new CoordinatorClient({ baseUrl: this.url, requestTimeoutMs: options.requestTimeoutMs, logger: silentLogger });
    const coordinator = new RecordingCoordinator(client, this);
    let loop: HeartbeatLoop | undefined;
    const session = new NodeSession({
      coordinator,
      enrollToken: () => options.enrollToken,
      logger: silentLogger,
      identity: () => this.identity,
      hooks: {
        registerBody: () => ({
          identity: this.identity,
          hostname: this.hostname,
          name: this.hostname,
          bootId: this.bootId,
          labels: { chaos: options.label, group: this.group },
          ...(options.cluster ? { cluster: options.cluster } : {}),
        }),
        heartbeatBody: () => ({}),
        heartbeatSent: () => undefined,
        onRegistered: (registration) => {
          this.registered.push({ nodeId: registration.nodeId, at: Date.now() });
          // As agent.ts: the coordinator's interval and backoff cap win over the config.
          if (registration.heartbeatIntervalSecs > 0) loop?.setInterval(registration.heartbeatIntervalSecs * 1000);
          if (registration.retryMaxDelaySecs !== undefined && registration.retryMaxDelaySecs > 0) loop?.setRetryCap(registration.retryMaxDelaySecs * 1000);
        },
        onHeartbeatResponse: (response) => {
          if (response.heartbeatIntervalSecs !== undefined && response.heartbeatIntervalSecs > 0) loop?.setInterval(response.heartbeatIntervalSecs * 1000);
        },
      },
    });
    const slowMs = options.slowRetryMs ?? 5_000;
    loop = new HeartbeatLoop({
      intervalMs: options.intervalMs,
      phaseKey: this.identity,
      startupDelayMs: options.startupDelayMs,
      beat: () => session.beat(),
      retry: { baseMs: AGENT_RETRY_BASE_MS, capMs: options.retryCapMs ?? AGENT_RETRY_MAX_MS },
      slowRetry: { baseMs: slowMs, capMs: slowMs, jitter: 'equal' },
    });
    this.client = client;
    this.session = session;
    this.loop = loop;
    loop.start();
  }

  /** Stops the process: the loop (waiting for a beat in flight), then deregisters when graceful. */
  async stop(options: { deregister: boolean; deadlineMs?: number }): Promise<void> {
    const loop = this.loop;
    const session = this.session;
    const client = this.client;
    this.loop = undefined;
    this.session = undefined;
    this.client = undefined;
    if (!loop || !session || !client) return;
    await loop.stop();
    const nodeId = session.current?.nodeId;
    if (options.deregister && nodeId) {
      const acked = await session.deregister(options.deadlineMs ?? this.options.requestTimeoutMs);
      this.deregistrations.push({ nodeId, at: Date.now(), acked });
    }
    client.close();
  }

  /** An agent process restart: stop (deregistering when graceful), then start again. */
  restart(graceful: boolean): Promise<void> {
    const run = async () => {
      if (!this.alive || !this.loop) return;
      await this.stop({ deregister: graceful });
      if (this.alive) this.start();
    };
    this.pending = this.pending.then(run, run);
    return this.pending;
  }

  /** A dead host: heartbeats stop for good, nothing is deregistered. */
  kill(): void {
    if (!this.alive) return;
    this.alive = false;
    this.killed = { at: Date.now(), nodeId: this.currentNodeId() };
    void this.stop({ deregister: false });
  }

  /** Ends the node at the end of a campaign (not a fault): no deregistration, no record. */
  async shutdown(): Promise<void> {
    await this.pending.catch(() => undefined);
    await this.stop({ deregister: false });
  }

  /** The last time this node got a 200 for a heartbeat or registration, before `at`. */
  lastOkBefore(at: number): number | undefined {
    let last: number | undefined;
    for (const attempt of this.attempts) {
      if (attempt.outcome === 'ok' && attempt.kind !== 'deregister' && attempt.endedAt <= at && (last === undefined || attempt.endedAt > last)) last = attempt.endedAt;
    }
    return last;
  }

  /** The longest gap between the starts of two consecutive requests of this node within [from, to]. */
  longestAttemptGap(from: number, to: number): number {
    const starts = this.attempts.map((attempt) => attempt.startedAt).filter((at) => at >= from && at <= to).sort((a, b) => a - b);
    let longest = 0;
    let previous = from;
    for (const at of starts) {
      longest = Math.max(longest, at - previous);
      previous = at;
    }
    return Math.max(longest, to - previous);
  }
}

/** Hundreds of SimNodes, in groups (a group reaches the coordinator through its own proxy). */
export class SimFleet {
  readonly nodes: SimNode[] = [];
  private serial = 0;

  constructor(private readonly options: SimFleetOptions) {}

  /**
   * Adds `count` nodes in `group`, reaching the coordinator at `url` (their proxy), and starts
   * them; `as` registers them with another token (an admin token may name a cluster).
   */
  add(count: number, group: string, url: string, as: { token?: string; cluster?: string } = {}): SimNode[] {
    const added: SimNode[] = [];
    const options: SimFleetOptions = { ...this.options, ...(as.token ? { enrollToken: as.token } : {}), ...(as.cluster ? { cluster: as.cluster } : {}) };
    for (let index = 0; index < count; index++) {
      const node = new SimNode(`${this.options.label}-${group}-${String(++this.serial).padStart(4, '0')}`, group, url, options);
      this.nodes.push(node);
      added.push(node);
      node.start();
    }
    return added;
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.shutdown()));
  }
}
