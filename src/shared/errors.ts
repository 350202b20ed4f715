/**
 * One registry of error codes: the wire `error_code`, its HTTP status and a default message.
 * Every error body of the API is `{error_code, message, details}` (except the runtime clusters
 * API of seed 001, which answers `{"error": "..."}`).
 */
export const ERROR_CODES = {
  InvalidRequest: { status: 400, message: 'The request is invalid' },
  MalformedJson: { status: 400, message: 'The request body is not valid JSON' },
  MalformedHttp: { status: 400, message: 'The request is not valid HTTP/1.1' },
  Unauthorized: { status: 401, message: 'A valid bearer token is required' },
  Forbidden: { status: 403, message: 'This token may not perform this action' },
  NotFound: { status: 404, message: 'No such resource' },
  InstanceNotFound: { status: 404, message: 'No such instance' },
  EventNotFound: { status: 404, message: 'No such cluster monitor event' },
  RequestTimeout: { status: 408, message: 'The request (headers and body) was not received in time' },
  DuplicateIdentity: { status: 409, message: 'Another host with the same identity is still heartbeating' },
  HostnameTaken: { status: 409, message: 'An instance with this hostname already exists in the cluster' },
  HostnameInUse: { status: 409, message: 'Another agent (another identity) is registered under this hostname and still heartbeating' },
  InstanceHasActiveNode: { status: 409, message: 'The instance has an Active node' },
  NodeTerminated: { status: 410, message: 'The node is terminated; register again' },
  PayloadTooLarge: { status: 413, message: 'The request body is too large' },
  UnsupportedMediaType: { status: 415, message: 'The request body must be application/json' },
  TooManyRequests: { status: 429, message: 'Too many failed authentications from this address; retry after the time in Retry-After' },
  HeadersTooLarge: { status: 431, message: 'The request headers are too large' },
  InternalError: { status: 500, message: 'Internal error' },
  StoreUnavailable: { status: 503, message: 'The store is unavailable; retry later' },
  KeysUnavailable: { status: 503, message: 'The keys that check JWT bearer tokens cannot be fetched; retry later' },
  ShuttingDown: { status: 503, message: 'The coordinator is shutting down; retry (another replica, or this one once restarted)' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export type ErrorDetails = Record<string, unknown>;

export interface ErrorBody {
  error_code: string;
  message: string;
  details: ErrorDetails;
}

/** An error that maps to one registered `error_code`; thrown anywhere, answered by one handler. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message?: string, details: ErrorDetails = {}) {
    super(message ?? ERROR_CODES[code].message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = details;
  }

  toBody(): ErrorBody {
    return errorBody(this);
  }
}

/** The body of an error; also for an answer that must not cost an Error (its stack) to build. */
export function errorBody(error: { code: ErrorCode; message: string; details: ErrorDetails }): ErrorBody {
  return { error_code: error.code, message: error.message, details: error.details };
}

/** A configuration problem: reported with the offending keys, the process exits 78 (EX_CONFIG). */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export const EXIT_CONFIG = 78;
/** EX_UNAVAILABLE: something the command needs is not installed; restarting does not help. */
export const EXIT_UNAVAILABLE = 69;
/** EX_NOINPUT: what the command should read (an existing store) is not there. */
export const EXIT_NOINPUT = 66;
/** EX_CANTCREAT: a file the command must create or write (the SQLite store) cannot be; restarting does not help. */
export const EXIT_CANTCREAT = 73;

/** A failure only the operator can fix, told in one line that names the fix; the process exits with `exitCode`. */
export class FixableError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = 'FixableError';
    this.exitCode = exitCode;
  }
}
