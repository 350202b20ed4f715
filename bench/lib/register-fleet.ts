import { ACTION, BENCH_ENROLL } from './coordinator-child.ts';
import { type LoadResult, runLoad } from './load.ts';

export interface Registered extends LoadResult {
  tokens: string[];
}

/**
 * Registers `count` nodes over HTTP with the enroll token, each with its own identity and
 * hostname (as distinct hosts would), `connections` at a time; collects the node tokens.
 */
export async function registerFleet(url: string, count: number, connections: number, prefix: string): Promise<Registered> {
  const tokens: string[] = [];
  const result = await runLoad({
    url,
    path: `${ACTION}cluster_RegisterNode`,
    tokens: [BENCH_ENROLL],
    connections,
    amount: count,
    bodyFor: (index) => `{"hostname":"${prefix}-${index}","identity":"${prefix}-id-${index}"}`,
    onResponse: (status, body) => {
      if (status === 200) tokens.push((JSON.parse(body) as { nodeToken: string }).nodeToken);
    },
  });
  return { ...result, tokens };
}
