/**
 * Whether an answer is one the coordinator documents: a status /openapi.json lists for the
 * operation, with a body its schema for that status accepts, and an error_code of the registry
 * with its own status; below the routes (no operation matches, the request could not be read),
 * the error body of the target's API. 5xx are counted apart: only a 503 that states the cluster's
 * health (/v0/cluster_healthz) is an answer the state calls for.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { answersPlainErrors } from '../../src/coordinator/http/error-handler.ts';
import { ERROR_CODES } from '../../src/shared/errors.ts';
import type { Exchange } from './fuzz-client.ts';
import type { Operation } from './fuzz-schema.ts';

export type Verdict =
  | { kind: 'documented'; status: number; errorCode: string | undefined }
  /** A 503 of /v0/cluster_healthz in its HealthStatus body: some component is unhealthy, as documented. */
  | { kind: 'state 503' }
  | { kind: '5xx' | 'off-shape' | 'hang' | 'closed'; problem: string };

/** Errors a request gets before any route reads it: it is not valid HTTP, too slow, or its headers too large. */
const BELOW_ROUTES = new Set(['MalformedHttp', 'RequestTimeout', 'HeadersTooLarge']);

export class AnswerJudge {
  private readonly ajv = new Ajv.default({ strict: false, allErrors: true });
  private readonly validators = new Map<object, ReturnType<Ajv.default['compile']>>();

  constructor(private readonly operations: Operation[]) {
    addFormats.default(this.ajv);
  }

  /** The operation a method and target reach (HEAD reaches a GET route), if any. */
  operationFor(method: string | undefined, target: string | undefined): Operation | undefined {
    if (method === undefined || target === undefined) return undefined;
    const path = target.split('?')[0] ?? '';
    const routed = method === 'HEAD' ? 'GET' : method;
    return this.operations.find((operation) => operation.method === routed && operation.pattern.test(path));
  }

  judge(method: string | undefined, target: string | undefined, exchange: Exchange): Verdict {
    if (exchange.outcome === 'hung') return { kind: 'hang', problem: 'no answer and no close within the bound' };
    if (exchange.outcome === 'closed') return { kind: 'closed', problem: `the connection closed without an answer (${exchange.error ?? 'no error'})` };
    const operation = this.operationFor(method, target);
    const body = method === 'HEAD' ? undefined : parseJson(exchange.body);
    if (exchange.status >= 500) return this.isHealthState(operation, method, exchange, body) ? { kind: 'state 503' } : { kind: '5xx', problem: `${exchange.status}: ${exchange.body.slice(0, 300)}` };
    const problem = this.problemOf(operation, target, exchange, body, method === 'HEAD');
    if (problem !== undefined) return { kind: 'off-shape', problem };
    const errorCode = (body as { error_code?: unknown } | undefined)?.error_code;
    return { kind: 'documented', status: exchange.status, errorCode: typeof errorCode === 'string' ? errorCode : undefined };
  }

  /** /v0/cluster_healthz's 503: the HealthStatus body of an unhealthy cluster (none to a HEAD), not an error body. */
  private isHealthState(operation: Operation | undefined, method: string | undefined, exchange: Exchange, body: unknown): boolean {
    if (operation?.key !== 'get /v0/cluster_healthz' || exchange.status !== 503) return false;
    if (method === 'HEAD') return exchange.body === '';
    return body !== undefined && this.fits(operation, 503, body) === undefined && !('error_code' in (body as object));
  }

  private problemOf(operation: Operation | undefined, target: string | undefined, exchange: Exchange, body: unknown, head: boolean): string | undefined {
    const { status } = exchange;
    // 431 is every API's (no route documents it); the others name themselves in the default body.
    const belowRoutes = status === 431 || (body !== null && typeof body === 'object' && BELOW_ROUTES.has((body as { error_code?: string }).error_code ?? ''));
    if (!operation || belowRoutes) return this.errorProblem(target, exchange, body, head);
    const documented = operation.spec.responses[String(status)];
    if (!documented) return `status ${status} is not documented for ${operation.key} (${Object.keys(operation.spec.responses).join(', ')})`;
    if (head) return exchange.body === '' ? undefined : 'a body in the answer to HEAD';
    if (exchange.body === '') return documented.content ? `an empty body where ${status} has one` : undefined;
    if (!documented.content) return `a body where ${status} has none: ${exchange.body.slice(0, 200)}`;
    const declared = Object.keys(documented.content).map((type) => type.split(';')[0]);
    if (!declared.includes((exchange.contentType ?? '').split(';')[0] ?? '')) return `content type ${exchange.contentType ?? '(none)'}, documented: ${declared.join(', ')}`;
    if (body === undefined) return isJson(exchange.contentType) ? 'the body is not JSON' : undefined;
    return this.fits(operation, status, body) ?? (status >= 400 ? this.registryProblem(status, body) : undefined);
  }

  /**
   * An error below the routes (or on no route): a 4xx in the error body of the target's API, with
   * a registered code. A request the server could not read (a bad request line, a head still
   * incomplete at the deadline or too large) names no API: the default body is right for it too.
   */
  private errorProblem(target: string | undefined, exchange: Exchange, body: unknown, head: boolean): string | undefined {
    if (exchange.status < 400) return `${exchange.status} where no route answers: ${exchange.body.slice(0, 200)}`;
    if (!isJson(exchange.contentType)) return `content type ${exchange.contentType ?? '(none)'} of an error`;
    if (head) return exchange.body === '' ? undefined : 'a body in the answer to HEAD';
    const unreadable = BELOW_ROUTES.has(String((body as { error_code?: unknown } | undefined)?.error_code));
    if (target !== undefined && answersPlainErrors(target) && !unreadable) {
      return isPlainErrorOf(target, body) ? undefined : `not seed 001's {"error": ...} body: ${exchange.body.slice(0, 200)}`;
    }
    const keys = body && typeof body === 'object' ? Object.keys(body).sort().join(',') : '';
    if (keys !== 'details,error_code,message') return `not the {error_code, message, details} body: ${exchange.body.slice(0, 200)}`;
    return this.registryProblem(exchange.status, body);
  }

  private registryProblem(status: number, body: unknown): string | undefined {
    const code = (body as { error_code?: unknown }).error_code;
    if (code === undefined) return undefined;
    const registered = ERROR_CODES[code as keyof typeof ERROR_CODES];
    if (!registered) return `error_code ${String(code)} is not in the registry`;
    return registered.status === status ? undefined : `error_code ${String(code)} is registered as ${registered.status}, answered ${status}`;
  }

  /** Undefined when the body fits the operation's schema for the status. */
  private fits(operation: Operation, status: number, body: unknown): string | undefined {
    const content = operation.spec.responses[String(status)]?.content;
    const schema = content?.['application/json']?.schema;
    if (!schema) return content ? undefined : `status ${status} of ${operation.key} is documented without a body`;
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.validators.set(schema, validate);
    }
    return validate(body) ? undefined : `${status} does not fit its schema: ${this.ajv.errorsText(validate.errors)}; ${JSON.stringify(body).slice(0, 200)}`;
  }
}

const isJson = (contentType: string | undefined) => /^application\/json\b/.test(contentType ?? '');

function isPlainErrorOf(target: string | undefined, body: unknown): boolean {
  return target !== undefined && answersPlainErrors(target) && body !== null && typeof body === 'object' && Object.keys(body).join() === 'error' && typeof (body as { error: unknown }).error === 'string';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
