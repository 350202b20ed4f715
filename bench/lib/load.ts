import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  path: string;
  /** Node tokens to rotate through, one per request (a shared cursor across all connections). */
  tokens?: readonly string[];
  body?: string;
  connections: number;
  durationSecs?: number;
  /** Stop after this many requests instead of a duration. */
  amount?: number;
  /** Requests per second over all connections (paced); absent = as fast as possible. */
  overallRate?: number;
  /** Called for every answered request. */
  onResponse?: (status: number, body: string) => void;
  /** Builds the body of each request (e.g. a unique hostname per registration). */
  bodyFor?: (index: number) => string;
}

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSecs: number;
}

/**
 * Drives HTTP load with autocannon over keep-alive connections. The coordinator and the baseline
 * run as child processes, so the load generator is always another process than the server.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let cursor = 0;
  const tokens = options.tokens;
  const body = options.body ?? '{}';
  const request: autocannon.Request = {
    method: 'POST',
    path: options.path,
    headers: { 'content-type': 'application/json' },
    body,
  };
  if (tokens || options.bodyFor) {
    request.setupRequest = (req) => {
      const index = cursor++;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (tokens) headers.authorization = `Bearer ${tokens[index % tokens.length]}`;
      return { ...req, headers: { ...req.headers, ...headers }, body: options.bodyFor ? options.bodyFor(index) : body };
    };
  }
  if (options.onResponse) {
    const onResponse = options.onResponse;
    request.onResponse = (status, responseBody) => onResponse(status, responseBody);
  }
  const config: autocannon.Options = {
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    requests: [request],
    timeout: 10,
  };
  if (options.amount !== undefined) config.amount = options.amount;
  else config.duration = options.durationSecs ?? 10;
  if (options.overallRate !== undefined) config.overallRate = options.overallRate;
  const result = await autocannon(config);
  const seconds = Math.max(0.001, result.duration);
  return {
    requestsPerSec: result.requests.total / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSecs: seconds,
  };
}
