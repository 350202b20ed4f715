import { toRfc3339 } from '../../shared/clock.ts';
import type { ClusterRecord, InstanceTally } from '../store/store.ts';
import { countsOf, regionsOf } from './cluster-counts.ts';
import type { ClusterObj } from './cluster-schemas.ts';

/** Seed 001's clusterObj without the `controller_*` fields, which describe the coordinator answering. */
export type ClusterSummary = Omit<ClusterObj, 'controller_version' | 'controller_status' | 'controller_last_updated' | 'nodes'>;

/** A cluster record in seed 001's terms: string id, RFC 3339 time, regions with its agents' labels, the counts of design.md. */
export function toClusterSummary(cluster: ClusterRecord, tally: InstanceTally | undefined, labelledRegions: readonly string[]): ClusterSummary {
  return {
    monitored_at: toRfc3339(cluster.createdAt),
    id: String(cluster.id),
    name: cluster.name,
    provider: cluster.provider,
    regions: regionsOf(cluster.regions, labelledRegions),
    ...countsOf(tally),
  };
}
