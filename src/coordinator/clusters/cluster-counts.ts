import { deriveNodeState, type InstanceSnapshot, isRunning } from '../instances/instance-view.ts';

export interface ClusterCounts {
  nodes_count: number;
  running_nodes_count: number;
  failed_nodes_count: number;
  failed_to_install_nodes_count: number;
  disabled_nodes_count: number;
}

/**
 * Seed 001's counts as design.md defines them: nodes = instances; running = with an Active node;
 * failed = the last node ended by HeartbeatTimeout; failed to install = node_state provision-fail;
 * disabled = enabled false.
 */
export function countInstances(snapshots: readonly InstanceSnapshot[]): ClusterCounts {
  const count = (test: (snapshot: InstanceSnapshot) => boolean) => snapshots.filter(test).length;
  return {
    nodes_count: snapshots.length,
    running_nodes_count: count(isRunning),
    failed_nodes_count: count((snapshot) => snapshot.latestNode?.terminationReason === 'HeartbeatTimeout'),
    failed_to_install_nodes_count: count((snapshot) => deriveNodeState(snapshot) === 'provision-fail'),
    disabled_nodes_count: count((snapshot) => !snapshot.instance.enabled),
  };
}

/** The cluster's configured regions plus every `region` label its agents report, sorted, once each. */
export function regionsOf(configured: readonly string[], snapshots: readonly InstanceSnapshot[]): string[] {
  const labelled = snapshots.map((snapshot) => snapshot.instance.labels.region).filter((region): region is string => Boolean(region));
  return [...new Set([...configured, ...labelled])].sort();
}
