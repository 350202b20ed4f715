/**
 * The agent's HTTP client for the coordinator's action endpoints (got). It makes one attempt
 * per call (the heartbeat loop owns retries and backoff) and turns every failure into a
 * CoordinatorError that says whether it is worth retrying. Tokens never reach the logs.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { got, type Got } from 'got';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ConfigError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import {
  ACTION_PREFIX,
  type DeregisterRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterNodeRequest,
  type RegisterNodeResponse,
} from '../shared/protocol.ts';

export class CoordinatorError extends Error {
  /** HTTP status, or undefined for a network failure or timeout. */
  readonly status: number | undefined;
  /** The coordinator's `error_code`, when it sent one. */
  readonly errorCode: string | undefined;
  /** The coordinator's `details` of the error (empty when it sent none). */
  readonly details: Record<string, unknown>;
  /** Network failures, timeouts, 5xx and 429 are worth retrying with backoff. */
  readonly retryable: boolean;

  constructor(message: string, status: number | undefined, errorCode: string | undefined, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'CoordinatorError';
    this.status = status;
    this.errorCode = errorCode;
    this.details = details;
    this.retryable = status === undefined || status >= 500 || status === 429;
  }
}

export interface CoordinatorClientOptions {
  baseUrl: string;
  /** Per-request timeout in milliseconds. */
  requestTimeoutMs: number;
  /** CA bundle to trust for an https coordinator (readCaBundle). */
  ca?: Buffer | undefined;
  logger: Logger;
}

export interface Coordinator {
  register(token: string, body: RegisterNodeRequest): Promise<RegisterNodeResponse>;
  heartbeat(nodeToken: string, body: HeartbeatRequest): Promise<HeartbeatResponse>;
  deregister(nodeToken: string, body: DeregisterRequest, timeoutMs: number): Promise<void>;
  close(): void;
}

interface ErrorBodyShape {
  error_code?: unknown;
  message?: unknown;
  details?: unknown;
}

export class CoordinatorClient implements Coordinator {
  private readonly http: Got;
  private readonly logger: Logger;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  private readonly timeoutMs: number;

  constructor(options: CoordinatorClientOptions) {
    this.logger = options.logger;
    this.timeoutMs = options.requestTimeoutMs;
    const ca = options.ca;
    this.agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true, ca }) };
    this.http = got.extend({
      prefixUrl: options.baseUrl.replace(/\/+$/, '') + ACTION_PREFIX,
      retry: { limit: 0 },
      throwHttpErrors: false,
      agent: this.agents,
      ...(ca ? { https: { certificateAuthority: ca } } : {}),
    });
  }

  register(token: string, body: RegisterNodeRequest): Promise<RegisterNodeResponse> {
    return this.invoke<RegisterNodeResponse>('cluster_RegisterNode', token, body, this.timeoutMs);
  }

  heartbeat(nodeToken: string, body: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.invoke<HeartbeatResponse>('cluster_ReportNodeHeartbeat', nodeToken, body, this.timeoutMs);
  }

  async deregister(nodeToken: string, body: DeregisterRequest, timeoutMs: number): Promise<void> {
    await this.invoke('cluster_DeregisterNode', nodeToken, body, timeoutMs);
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async invoke<T>(action: string, token: string, body: unknown, timeoutMs: number): Promise<T> {
    const started = performance.now();
    let response;
    try {
      response = await this.http.post(action, {
        json: body,
        headers: { authorization: `Bearer ${token}` },
        timeout: { request: timeoutMs },
      });
    } catch (error) {
      const message = `${action}: ${(error as Error).message}`;
      this.logger.debug('request failed', { action, error: message, ms: Math.round(performance.now() - started) });
      throw new CoordinatorError(message, undefined, undefined);
    }
    const ms = Math.round(performance.now() - started);
    const parsed = parseJson(response.body);
    this.logger.debug('request', { action, status: response.statusCode, ms });
    if (response.statusCode >= 200 && response.statusCode < 300) return (parsed ?? {}) as T;
    const errorBody = (parsed ?? {}) as ErrorBodyShape;
    const code = typeof errorBody.error_code === 'string' ? errorBody.error_code : undefined;
    const text = typeof errorBody.message === 'string' ? errorBody.message : response.statusMessage ?? '';
    const details = typeof errorBody.details === 'object' && errorBody.details !== null ? (errorBody.details as Record<string, unknown>) : {};
    throw new CoordinatorError(`${action}: HTTP ${response.statusCode}${code ? ` ${code}` : ''}: ${text}`, response.statusCode, code, details);
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Reads the `caFile` bundle at start, so a missing or malformed file is a config error naming
 * the key (exit 78), not a raw ENOENT or a TLS failure retried forever.
 */
export function readCaBundle(caFile: string | undefined): Buffer | undefined {
  if (!caFile) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(caFile);
  } catch (error) {
    throw new ConfigError([`caFile: cannot read ${caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  const certificates = pem.toString('utf8').match(PEM_CERTIFICATE) ?? [];
  try {
    if (certificates.length === 0) throw new Error('no PEM certificate in it');
    for (const certificate of certificates) new X509Certificate(certificate); // throws on a malformed one
  } catch (error) {
    throw new ConfigError([`caFile: ${caFile} is not a PEM CA bundle (${(error as Error).message})`]);
  }
  return pem;
}

/** Names where the enrollment token comes from, for error messages; never the token. */
export function tokenSource(config: { tokenFile?: string | undefined }): string {
  return config.tokenFile ? `token file ${config.tokenFile}` : 'NODEPULSE_TOKEN / --token / token:';
}

/** The enrollment token: NODEPULSE_TOKEN / --token, or the first line of --token-file, re-read each time (rotation). */
export function tokenReader(config: { token?: string | undefined; tokenFile?: string | undefined }): () => string {
  return () => {
    if (config.tokenFile) return readFileSync(config.tokenFile, 'utf8').split('\n')[0]?.trim() ?? '';
    return config.token ?? '';
  };
}
