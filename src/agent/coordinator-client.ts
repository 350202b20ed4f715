/**
 * The agent's HTTP client for the coordinator's action endpoints (got). It makes one attempt
 * per call (the heartbeat loop owns retries and backoff) and turns every failure into a
 * CoordinatorError that says whether it is worth retrying. It trusts nothing it receives: an
 * answer is read up to MAX_ANSWER_BYTES and believed only when it matches the protocol's schema.
 * Tokens never reach the logs.
 */
import { readFileSync } from 'node:fs';
import type { Static, TSchema } from '@sinclair/typebox';
import { type Got, type RequestError, type Response, got } from 'got';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { type Clock, systemClock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { keyPairPaths, readCertificates, readKeyPair } from '../shared/tls-files.ts';
import {
  ACTION_PREFIX,
  type DeregisterRequest,
  DeregisterResponse,
  type HeartbeatRequest,
  HeartbeatResponse,
  type RegisterNodeRequest,
  RegisterNodeResponse,
} from '../shared/protocol.ts';
import { checkAnswer, errorBodyOf } from './answer-check.ts';
import { RETRY_AFTER_STATUSES, parseRetryAfter } from './retry-after.ts';
import { tlsFailureAdvice } from './tls-failure.ts';

/** The largest answer the agent reads: the real ones are a few hundred bytes. */
export const MAX_ANSWER_BYTES = 64 * 1024;

export class CoordinatorError extends Error {
  /** HTTP status, or undefined for a network failure or timeout. */
  readonly status: number | undefined;
  /** The coordinator's `error_code`, when it sent one. */
  readonly errorCode: string | undefined;
  /** The coordinator's `details` of the error (empty when it sent none). */
  readonly details: Record<string, unknown>;
  /** Network failures, timeouts (ours or the coordinator's 408), 5xx and 429 are worth retrying with backoff. */
  readonly retryable: boolean;
  /** How long a 429 or 503 asked the agent to wait (its Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    status: number | undefined,
    errorCode: string | undefined,
    details: Record<string, unknown> = {},
    retryAfterMs: number | undefined = undefined,
  ) {
    super(message);
    this.name = 'CoordinatorError';
    this.status = status;
    this.errorCode = errorCode;
    this.details = details;
    this.retryable = status === undefined || status >= 500 || status === 429 || status === 408;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * An answer the agent cannot believe: a 2xx that is not the protocol's answer, or one too large to
 * read. The URL may point at something else than a coordinator (a proxy's page, another service),
 * or the coordinator is broken: worth retrying with backoff, never worth acting on.
 */
export class InvalidAnswerError extends CoordinatorError {
  override readonly retryable = true;
}

/**
 * The TLS handshake with the coordinator failed (an untrusted, expired or misnamed certificate, a
 * refused client certificate): nothing changes until an operator fixes a certificate or a setting.
 * The message names the coordinator URL, the reason's code and what to do.
 */
export class TlsFailureError extends CoordinatorError {
  override readonly retryable = false;
}

/** A client certificate and its key (PEM), presented to a coordinator that requires one. */
export interface ClientCertificate {
  cert: Buffer;
  key: Buffer;
}

export interface CoordinatorClientOptions {
  baseUrl: string;
  /** Per-request timeout in milliseconds. */
  requestTimeoutMs: number;
  /** CA bundle to trust for an https coordinator (readCaBundle). */
  ca?: Buffer | undefined;
  /** Presented to an https coordinator that requires client certificates (readClientCertificate). */
  clientCertificate?: ClientCertificate | undefined;
  logger: Logger;
  /** Turns a Retry-After date into a delay; the system clock by default. */
  clock?: Clock;
}

export interface Coordinator {
  register(token: string, body: RegisterNodeRequest): Promise<RegisterNodeResponse>;
  heartbeat(nodeToken: string, body: HeartbeatRequest): Promise<HeartbeatResponse>;
  deregister(nodeToken: string, body: DeregisterRequest, timeoutMs: number): Promise<void>;
  close(): void;
}

/** What an action answers on success: the protocol's schema, and its name for error messages. */
interface Expected<S extends TSchema> {
  name: string;
  schema: S;
}

const REGISTERED: Expected<typeof RegisterNodeResponse> = { name: 'RegisterNodeResponse', schema: RegisterNodeResponse };
const HEARTBEAT_ANSWER: Expected<typeof HeartbeatResponse> = { name: 'HeartbeatResponse', schema: HeartbeatResponse };
const DEREGISTERED: Expected<typeof DeregisterResponse> = { name: 'DeregisterResponse', schema: DeregisterResponse };

export class CoordinatorClient implements Coordinator {
  private readonly http: Got;
  private readonly logger: Logger;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  /** Named in the errors about its answers, so the one log line says who answered. */
  private readonly baseUrl: string;

  constructor(options: CoordinatorClientOptions) {
    this.logger = options.logger;
    this.timeoutMs = options.requestTimeoutMs;
    this.clock = options.clock ?? systemClock;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const { ca, clientCertificate } = options;
    this.agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true, ca, ...clientCertificate }) };
    this.http = got.extend({
      prefixUrl: this.baseUrl + ACTION_PREFIX,
      retry: { limit: 0 },
      throwHttpErrors: false,
      agent: this.agents,
      https: {
        ...(ca ? { certificateAuthority: ca } : {}),
        ...(clientCertificate ? { certificate: clientCertificate.cert, key: clientCertificate.key } : {}),
      },
    });
  }

  register(token: string, body: RegisterNodeRequest): Promise<RegisterNodeResponse> {
    return this.invoke('cluster_RegisterNode', REGISTERED, token, body, this.timeoutMs);
  }

  heartbeat(nodeToken: string, body: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.invoke('cluster_ReportNodeHeartbeat', HEARTBEAT_ANSWER, nodeToken, body, this.timeoutMs);
  }

  async deregister(nodeToken: string, body: DeregisterRequest, timeoutMs: number): Promise<void> {
    await this.invoke('cluster_DeregisterNode', DEREGISTERED, nodeToken, body, timeoutMs);
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async invoke<S extends TSchema>(action: string, expected: Expected<S>, token: string, body: unknown, timeoutMs: number): Promise<Static<S>> {
    const started = performance.now();
    let response: Response<string>;
    try {
      response = await this.post(action, token, body, timeoutMs);
    } catch (error) {
      this.logger.debug('request failed', { action, error: (error as Error).message, ms: Math.round(performance.now() - started) });
      throw error;
    }
    const status = response.statusCode;
    this.logger.debug('request', { action, status, ms: Math.round(performance.now() - started) });
    if (status < 200 || status >= 300) throw this.refusal(action, response);
    const checked = checkAnswer(expected.schema, response.body);
    if (checked.ok) return checked.value;
    const contentType = response.headers['content-type'] ?? 'no content type';
    throw new InvalidAnswerError(
      `${action}: ${this.baseUrl} answered HTTP ${status} (${contentType}, ${response.rawBody.length} bytes) with something that is not a ${expected.name}: ${checked.problem}`,
      status,
      undefined,
    );
  }

  /** One POST; an answer larger than MAX_ANSWER_BYTES is abandoned as soon as it says or shows so, never buffered whole. */
  private async post(action: string, token: string, body: unknown, timeoutMs: number): Promise<Response<string>> {
    const request = this.http.post(action, {
      json: body,
      headers: { authorization: `Bearer ${token}` },
      timeout: { request: timeoutMs },
    });
    let tooLarge = false;
    // `total` is the announced Content-Length; `transferred` counts the bytes read (decompressed) so far.
    request.on('downloadProgress', ({ transferred, total }) => {
      if (tooLarge || (transferred <= MAX_ANSWER_BYTES && (total ?? 0) <= MAX_ANSWER_BYTES)) return;
      tooLarge = true;
      request.cancel();
    });
    try {
      return await request;
    } catch (error) {
      if (tooLarge) {
        const status = (error as RequestError).response?.statusCode;
        throw new InvalidAnswerError(
          `${action}: ${this.baseUrl} answered${status ? ` HTTP ${status}` : ''} with more than ${MAX_ANSWER_BYTES / 1024} KiB; ` +
            'the agent stopped reading it (real answers are a few hundred bytes)',
          status,
          undefined,
        );
      }
      const code = (error as RequestError).code;
      const advice = tlsFailureAdvice(code);
      if (advice) {
        // Node's text adds to a certificate check's code (which name, which date); OpenSSL's for an ERR_SSL_ alert is a dump of its error stack.
        const text = code.startsWith('ERR_SSL_') ? '' : ` (${(error as Error).message})`;
        throw new TlsFailureError(`${action}: TLS with ${this.baseUrl} failed: ${code}${text}; ${advice}`, undefined, undefined);
      }
      throw new CoordinatorError(`${action}: ${(error as Error).message}`, undefined, undefined);
    }
  }

  /** The error of a non-2xx answer: the coordinator's error body when it sent one in the documented shape, else the status alone. */
  private refusal(action: string, response: Response<string>): CoordinatorError {
    const status = response.statusCode;
    const error = errorBodyOf(response.body);
    const text = error ? error.message : `${response.statusMessage ?? ''} (the body is not a coordinator error)`;
    const retryAfterMs = RETRY_AFTER_STATUSES.includes(status) ? parseRetryAfter(response.headers['retry-after'], this.clock.now()) : undefined;
    const waitNote = retryAfterMs === undefined ? '' : ` (Retry-After: ${Math.ceil(retryAfterMs / 1000)} s)`;
    const code = error?.error_code;
    return new CoordinatorError(`${action}: HTTP ${status}${code ? ` ${code}` : ''}: ${text}${waitNote}`, status, code, error?.details ?? {}, retryAfterMs);
  }
}

/**
 * Reads the `caFile` bundle at start, so a missing or malformed file is a config error naming
 * the key (exit 78), not a raw ENOENT or a TLS failure retried forever.
 */
export function readCaBundle(caFile: string | undefined): Buffer | undefined {
  return caFile ? readCertificates('caFile', caFile, 'a PEM CA bundle').pem : undefined;
}

/** The agent's client certificate for a coordinator that requires one (mutual TLS): tlsCert and tlsKey, both or neither. */
export function readClientCertificate(config: { tlsCert?: string | undefined; tlsKey?: string | undefined }): ClientCertificate | undefined {
  const paths = keyPairPaths('tlsCert', config.tlsCert, 'tlsKey', config.tlsKey);
  if (!paths) return undefined;
  const { cert, key } = readKeyPair('tlsCert', paths.certPath, 'tlsKey', paths.keyPath);
  return { cert, key };
}

/** Names where the enrollment token comes from, for error messages; never the token. */
export function tokenSource(config: { tokenFile?: string | undefined }): string {
  return config.tokenFile ? `token file ${config.tokenFile}` : 'NODEPULSE_ENROLL_TOKEN / --token / token:';
}

/** The enrollment token: NODEPULSE_ENROLL_TOKEN / --token, or the first line of --token-file, re-read each time (rotation). */
export function tokenReader(config: { token?: string | undefined; tokenFile?: string | undefined }): () => string {
  return () => {
    if (config.tokenFile) return readFileSync(config.tokenFile, 'utf8').split('\n')[0]?.trim() ?? '';
    return config.token ?? '';
  };
}
