import type { Store } from '../store/store.ts';

/** Cluster names for ids, in order (the sweeper works with ids; operators read names). */
export async function clusterNames(store: Store, clusterIds: readonly number[]): Promise<string[]> {
  const names: string[] = [];
  for (const id of clusterIds) names.push((await store.findClusterById(id))?.name ?? String(id));
  return names;
}
