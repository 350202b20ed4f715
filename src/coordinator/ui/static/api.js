/**
 * Calls to the coordinator's API with the signed-in token. The token lives in sessionStorage
 * (this tab only): never in a URL, never in a log line, never in a cookie.
 */
const TOKEN_KEY = 'nodepulse.token';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  keep: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  forget: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An answer other than 2xx, with the API's own words: `{error_code, message}` or seed 001's `{error}`. */
export class ApiFailure extends Error {
  constructor(status, body) {
    const message = body?.message ?? body?.error ?? `HTTP ${status}`;
    super(message);
    this.status = status;
    this.code = body?.error_code ?? (status === 403 ? 'Forbidden' : status === 401 ? 'Unauthorized' : undefined);
  }

  /** How the page says it: a refusal (403) is named as one. */
  describe() {
    if (this.status === 403) return `Refused (403 ${this.code}): ${this.message}`;
    return `${this.status} ${this.code ?? ''}: ${this.message}`.trim();
  }
}

export async function call(method, path, body, token = session.token()) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiFailure(response.status, parsed);
  return parsed;
}

export const action = (name, body = {}) => call('POST', `/api/v1/actions/invoke/${name}`, body);

/**
 * What the token may do: the clusters API answers admins only, the instances list readers too.
 * Resolves 'admin' or 'reader'; rejects with the API's answer otherwise (401, or 403 for an enroll token).
 */
export async function roleOf(token) {
  try {
    await call('POST', '/runtime/api/v1/clusters', { limit: 1 }, token);
    return 'admin';
  } catch (error) {
    if (!(error instanceof ApiFailure) || error.status !== 403) throw error;
  }
  await call('GET', '/api/v2/instances/?page_size=1', undefined, token);
  return 'reader';
}

/** Every page of an AWX-shaped list (`next` is a relative URL), 200 records a request. */
export async function listAll(path) {
  const results = [];
  let next = `${path}${path.includes('?') ? '&' : '?'}page_size=200`;
  while (next) {
    const page = await call('GET', next);
    results.push(...page.results);
    next = page.next;
  }
  return results;
}

/** Every cluster of the clusters API (admins), following next_key. */
export async function listClusters(first) {
  const clusters = [...first.clusters];
  let page = first;
  while (page.pagination.next_key) {
    page = await call('POST', '/runtime/api/v1/clusters', { limit: 100, next_key: page.pagination.next_key });
    clusters.push(...page.clusters);
  }
  return clusters;
}
