/** How the operator commands reach the coordinator's HTTP API. */
export interface ApiTarget {
  coordinator: string;
  token: string | undefined;
}

export const DEFAULT_COORDINATOR = 'http://127.0.0.1:8420';

/** One JSON request; a non-2xx answer becomes an Error carrying the API's error message. */
export async function callApi<T>(target: ApiTarget, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const { got } = await import('got'); // only the operator commands need it
  const response = await got(new URL(path, target.coordinator), {
    method,
    headers: target.token ? { authorization: `Bearer ${target.token}` } : {},
    ...(body === undefined ? {} : { json: body }),
    throwHttpErrors: false,
    retry: { limit: 0 },
    timeout: { request: 15_000 },
  });
  const parsed: unknown = response.body ? JSON.parse(response.body) : undefined;
  if (response.statusCode >= 400) {
    const error = (parsed ?? {}) as { error_code?: string; message?: string; error?: string };
    const text = error.message ?? error.error ?? response.statusMessage ?? 'request failed';
    throw new Error(`${method} ${path}: ${response.statusCode}${error.error_code ? ` ${error.error_code}` : ''}: ${text}`);
  }
  return parsed as T;
}
