import { toRfc3339 } from '../../shared/clock.ts';
import { ApiError } from '../../shared/errors.ts';
import { VERSION } from '../../shared/version.ts';
import type { FleetCounts } from '../fleet/fleet-counts.ts';
import type { NodeService } from '../node-service.ts';
import { type ClusterRecord, MAX_STORE_ID, type Store } from '../store/store.ts';
import { toClusterSummary } from './cluster-view.ts';
import type { ClusterObj, ListClustersBody, ListClustersResponse } from './cluster-schemas.ts';

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 100;

export interface ClusterServiceDeps {
  store: Store;
  nodes: NodeService;
  /** Each cluster's counts and region labels, kept in memory (no query per request). */
  fleet: Pick<FleetCounts, 'tallyOf' | 'regionLabels'>;
  /** The coordinator itself: `running` while it accepts requests; when it (re)started. */
  controller: () => { running: boolean; startedAt: number };
}

/** The page size of a request: default 10; a numeric string is accepted; outside 1-100 is a 400. */
export function parseLimit(limit: ListClustersBody['limit']): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  const value = typeof limit === 'number' ? limit : Number(limit.trim());
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) throw new ApiError('InvalidRequest', `limit must be an integer from 1 to ${MAX_LIMIT}`, { limit });
  return value;
}

/** The cluster id after which the page starts: next_key is the last id of the previous page, so never past the ids a store holds. */
export function parseNextKey(nextKey: string | undefined): number {
  if (nextKey === undefined || nextKey === '') return 0;
  const id = /^[0-9]{1,15}$/.test(nextKey) ? Number(nextKey) : Number.NaN;
  if (!(id <= MAX_STORE_ID)) throw new ApiError('InvalidRequest', 'next_key must be the next_key of a previous page', { next_key: nextKey });
  return id;
}

/** Seed 001: every cluster, key-paginated by id, so clusters added between pages never cause duplicates or gaps. */
export class ClusterService {
  constructor(private readonly deps: ClusterServiceDeps) {}

  async list(body: ListClustersBody): Promise<ListClustersResponse> {
    const limit = parseLimit(body.limit);
    const afterId = parseNextKey(body.next_key);
    const { store } = this.deps;
    const [total, page] = [await store.countClusters(), await store.listClusters(afterId, limit + 1)];
    const visible = page.slice(0, limit);
    const clusters: ClusterObj[] = [];
    for (const cluster of visible) clusters.push(await this.toClusterObj(cluster, body.include_nodes === true));
    const last = visible.at(-1);
    return { total_count: total, pagination: { limit, next_key: page.length > limit && last ? String(last.id) : '' }, clusters };
  }

  private async toClusterObj(cluster: ClusterRecord, includeNodes: boolean): Promise<ClusterObj> {
    const { controller, fleet } = this.deps;
    const { running, startedAt } = controller();
    // The response schema orders the keys as seed 001 does.
    const out: ClusterObj = {
      ...toClusterSummary(cluster, fleet.tallyOf(cluster.id), fleet.regionLabels(cluster.id)),
      controller_version: VERSION,
      controller_status: running ? 'running' : 'stopped',
      controller_last_updated: toRfc3339(startedAt),
    };
    if (includeNodes) out.nodes = await this.deps.nodes.details(cluster.name, false);
    return out;
  }
}
