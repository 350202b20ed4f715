/**
 * Whether an error means "the store cannot be reached right now" (a connection refused, reset or
 * timed out; the server shutting down or refusing connections), as opposed to a bad query. The
 * HTTP layer answers these with 503 StoreUnavailable; the process keeps running and recovers by
 * itself when the store answers again. Store-neutral: it reads only `code` and `message`.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** PostgreSQL SQLSTATEs: class 08 (connection exception), shutdown and "cannot connect now", too many connections. */
const SQLSTATE_UNAVAILABLE = /^(08...|57P01|57P02|57P03|53300)$/;

const MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
  'the database system is',
];

export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE_UNAVAILABLE.test(code))) return true;
  if (MESSAGES.some((text) => error.message.includes(text))) return true;
  // AggregateError from a connect attempt to several addresses (localhost: ::1 and 127.0.0.1).
  if (error instanceof AggregateError) return error.errors.some(isStoreUnavailable);
  return error.cause !== undefined && error.cause !== error && isStoreUnavailable(error.cause);
}
