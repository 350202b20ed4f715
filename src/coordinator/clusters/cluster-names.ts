import type { Store } from '../store/store.ts';

/** The names of these clusters, each looked up once (the store works with ids; operators read names). */
export async function clusterNamesById(store: Store, clusterIds: Iterable<number>): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  for (const id of new Set(clusterIds)) {
    const cluster = await store.findClusterById(id);
    if (cluster) names.set(id, cluster.name);
  }
  return names;
}

/** Cluster names for ids, in order; an id without a cluster shows as the id. */
export async function clusterNames(store: Store, clusterIds: readonly number[]): Promise<string[]> {
  const names = await clusterNamesById(store, clusterIds);
  return clusterIds.map((id) => names.get(id) ?? String(id));
}
