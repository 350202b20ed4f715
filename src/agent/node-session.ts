/**
 * One agent's conversation with the coordinator: register, heartbeat, deregister. It turns
 * every answer into what the heartbeat loop should do next (BeatOutcome) and logs each change
 * of connection state once, not on every attempt.
 */
import type { Logger } from '../shared/logger.ts';
import type { HeartbeatRequest, HeartbeatResponse, RegisterNodeRequest } from '../shared/protocol.ts';
import { type Coordinator, CoordinatorError, InvalidAnswerError, TlsFailureError } from './coordinator-client.ts';
import type { ContinuityRecorder } from './continuity.ts';
import type { BeatOutcome } from './heartbeat-loop.ts';

export type ConnectionState =
  | 'starting'
  | 'connected'
  | 'unreachable'
  /** The coordinator's URL answered something that is not the protocol's answer, or too much of it. */
  | 'bad-answer'
  /** The TLS handshake failed (an untrusted, expired or misnamed certificate; a refused client certificate). */
  | 'tls-failure'
  /** The enrollment token cannot be read (a missing or unreadable token file). */
  | 'no-token'
  /** The coordinator refused the enrollment token (401/403 on registration). */
  | 'unauthorized'
  /** The coordinator refused what this node's own token asked (403 on a heartbeat). */
  | 'node-token-refused'
  | 'duplicate'
  /** Another agent (another identity) on this host is registered under this hostname. */
  | 'hostname-in-use'
  | 'rejected';

/**
 * Heartbeat answers that mean the coordinator no longer accepts this node: it forgot the node or
 * does not accept its token (401; it answers an unknown node like a wrong secret, so that no answer
 * tells which node ids exist; 404 from older coordinators), or terminated it (410). Registering
 * again at once is safe: it uses the enrollment token, whose refusal is retried slowly.
 */
const NODE_GONE = [401, 404, 410];
const REFUSED = [401, 403];

export interface Registration {
  nodeId: string;
  nodeToken: string;
  heartbeatIntervalSecs: number;
  /** The longest retry backoff the coordinator asks for (absent from an older coordinator). */
  retryMaxDelaySecs?: number | undefined;
}

export interface SessionHooks {
  /** The registration request (identity, facts, labels...) as of now. */
  registerBody(): RegisterNodeRequest;
  /** The heartbeat body as of now (facts/health only when worth sending). */
  heartbeatBody(): HeartbeatRequest;
  /** Called after a heartbeat body was accepted, so its parts count as sent. */
  heartbeatSent(body: HeartbeatRequest): void;
  onRegistered(registration: Registration): void;
  onHeartbeatResponse(response: HeartbeatResponse): void;
}

export interface NodeSessionOptions {
  coordinator: Coordinator;
  enrollToken: () => string;
  /** Where the enrollment token comes from, named in errors (never the token). */
  tokenSource?: string;
  logger: Logger;
  hooks: SessionHooks;
  /** The identity being registered (it may change on a reload). */
  identity: () => string;
  /** Told of every attempt that failed and every one that succeeded (the continuity sent on registration). */
  attempts?: Pick<ContinuityRecorder, 'failed' | 'succeeded'>;
}

export class NodeSession {
  private registration: Registration | undefined;
  private state: ConnectionState = 'starting';
  private readonly options: NodeSessionOptions;

  constructor(options: NodeSessionOptions) {
    this.options = options;
  }

  get current(): Registration | undefined {
    return this.registration;
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** One step of the loop: register when not registered, else heartbeat. */
  beat(): Promise<BeatOutcome> {
    return this.registration ? this.heartbeat(this.registration) : this.register();
  }

  /** Forgets the registration (e.g. identity changed on reload): the next beat registers. */
  reset(): void {
    this.registration = undefined;
  }

  private async register(): Promise<BeatOutcome> {
    const { coordinator, hooks, logger } = this.options;
    let token: string;
    try {
      token = this.options.enrollToken();
    } catch (error) {
      this.setState('no-token', 'error', `cannot read the enrollment token: ${(error as Error).message}. Retrying slowly.`);
      return { kind: 'slow-retry' };
    }
    try {
      const response = await coordinator.register(token, hooks.registerBody());
      this.options.attempts?.succeeded();
      this.registration = {
        nodeId: response.nodeId,
        nodeToken: response.nodeToken,
        heartbeatIntervalSecs: response.heartbeatIntervalSecs,
        retryMaxDelaySecs: response.retryMaxDelaySecs,
      };
      this.setState('connected', 'info', 'connected to the coordinator');
      logger.info('registered', { nodeId: response.nodeId, identity: this.options.identity(), heartbeatIntervalSecs: response.heartbeatIntervalSecs });
      hooks.onRegistered(this.registration);
      return { kind: 'ok' };
    } catch (error) {
      this.options.attempts?.failed(`registration: ${(error as Error).message}`);
      return this.failed(error, 'registration');
    }
  }

  private async heartbeat(registration: Registration): Promise<BeatOutcome> {
    const { coordinator, hooks, logger } = this.options;
    const body = hooks.heartbeatBody();
    try {
      const response = await coordinator.heartbeat(registration.nodeToken, body);
      this.options.attempts?.succeeded();
      hooks.heartbeatSent(body);
      this.setState('connected', 'info', 'connected to the coordinator');
      logger.debug('heartbeat accepted', { nodeId: registration.nodeId, facts: body.facts !== undefined, health: body.health?.status });
      hooks.onHeartbeatResponse(response);
      return { kind: 'ok' };
    } catch (error) {
      // The status of an answer not to believe (a 404 page of 50 MiB) says nothing about the node.
      const refusal = error instanceof CoordinatorError && !(error instanceof InvalidAnswerError) ? error : undefined;
      const gone = refusal !== undefined && NODE_GONE.includes(refusal.status ?? 0);
      // A coordinator that no longer accepts the node answered: that ends an outage, it is not one of its failed attempts.
      if (!gone) this.options.attempts?.failed(`heartbeat: ${(error as Error).message}`);
      if (gone) {
        logger.warn('the coordinator no longer accepts this node (it forgot it, refused its token or terminated it); registering again', {
          nodeId: registration.nodeId,
          status: refusal.status,
          errorCode: refusal.errorCode,
        });
        this.registration = undefined;
        return { kind: 'again' };
      }
      if (refusal && REFUSED.includes(refusal.status ?? 0)) {
        // The coordinator knows the node but refuses its token: resending that token cannot help,
        // a new registration can; at once would hammer a coordinator that refuses the enrollment token too.
        this.registration = undefined;
        this.setState(
          'node-token-refused',
          'error',
          `heartbeat refused (${refusal.message}): the coordinator does not accept this node's token ` +
            `(a proxy rewriting the Authorization header?). Registering again with the enrollment token from ${this.tokenSource()} after a slow retry.`,
        );
        return { kind: 'slow-retry' };
      }
      return this.failed(error, 'heartbeat');
    }
  }

  private failed(error: unknown, what: string): BeatOutcome {
    if (!(error instanceof CoordinatorError)) {
      this.setState('unreachable', 'error', `${what} failed unexpectedly: ${(error as Error).message}`);
      return { kind: 'retry' };
    }
    if (error instanceof InvalidAnswerError) {
      this.setState(
        'bad-answer',
        'error',
        `${what} failed: ${error.message}. Is the coordinator setting the URL of a nodepulse coordinator (not of a proxy's page or another service)? ` +
          'Retrying with backoff.',
      );
      return { kind: 'retry' };
    }
    if (error instanceof TlsFailureError) {
      // Only an operator can fix a certificate: retry slowly, not with the network backoff.
      this.setState('tls-failure', 'error', `${what} failed: ${error.message}. Retrying slowly.`);
      return { kind: 'slow-retry' };
    }
    if (error.retryable) {
      this.setState('unreachable', 'warn', `coordinator unreachable; retrying with backoff (${error.message})`);
      return error.retryAfterMs === undefined ? { kind: 'retry' } : { kind: 'retry', retryAfterMs: error.retryAfterMs };
    }
    if (error.errorCode === 'DuplicateIdentity') {
      this.setState(
        'duplicate',
        'error',
        `registration refused: another host with identity ${this.options.identity()} is still heartbeating. ` +
          'If this host was cloned or its state directory copied, delete the identity file in the state directory ' +
          '(or set a distinct --identity) and restart. Retrying slowly.',
      );
      return { kind: 'slow-retry' };
    }
    if (error.errorCode === 'HostnameInUse') {
      const { otherIdentity, hostname } = error.details;
      this.setState(
        'hostname-in-use',
        'error',
        `registration refused: another agent (identity ${String(otherIdentity)}) is registered as hostname ${String(hostname)} and is still heartbeating; ` +
          'two agents on one host would evict each other. Give this agent its own hostname (hostname: in its config, --hostname or NODEPULSE_HOSTNAME), ' +
          "or, if it is meant to be that agent, run only one of them, with that agent's state directory. Retrying slowly.",
      );
      return { kind: 'slow-retry' };
    }
    if (REFUSED.includes(error.status ?? 0)) {
      this.setState(
        'unauthorized',
        'error',
        `${what} refused (${error.message}): the enrollment token from ${this.tokenSource()} is wrong, revoked, or not allowed here. ` +
          'Fix or rotate it (a token file is re-read on every retry). Retrying slowly.',
      );
      return { kind: 'slow-retry' };
    }
    this.setState('rejected', 'error', `${what} rejected: ${error.message}. Retrying slowly.`);
    return { kind: 'slow-retry' };
  }

  private tokenSource(): string {
    return this.options.tokenSource ?? 'the token setting';
  }

  private setState(state: ConnectionState, level: 'info' | 'warn' | 'error', message: string): void {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    if (state === 'connected' && previous === 'starting') return;
    this.options.logger.log(level, message, { state, previous });
  }

  /** Sends DeregisterNode(Shutdown) within the deadline; false when it did not make it. */
  async deregister(deadlineMs: number): Promise<boolean> {
    const registration = this.registration;
    if (!registration) return true;
    try {
      await this.options.coordinator.deregister(registration.nodeToken, { reason: 'Shutdown' }, deadlineMs);
      this.registration = undefined;
      this.options.logger.info('deregistered', { nodeId: registration.nodeId });
      return true;
    } catch (error) {
      this.options.logger.warn('deregistration did not complete before the deadline; exiting anyway', {
        nodeId: registration.nodeId,
        error: (error as Error).message,
      });
      return false;
    }
  }
}

