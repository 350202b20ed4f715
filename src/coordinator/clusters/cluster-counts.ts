import type { InstanceTally } from '../store/store.ts';

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
 * disabled = enabled false. A cluster with no instances has no tally: all zero.
 */
export function countsOf(tally: InstanceTally | undefined): ClusterCounts {
  return {
    nodes_count: tally?.instances ?? 0,
    running_nodes_count: tally?.running ?? 0,
    failed_nodes_count: tally?.timedOut ?? 0,
    failed_to_install_nodes_count: tally?.failedToInstall ?? 0,
    disabled_nodes_count: tally?.disabled ?? 0,
  };
}

/** The cluster's configured regions plus every `region` label its agents report, sorted, once each. */
export function regionsOf(configured: readonly string[], labelled: readonly string[]): string[] {
  return [...new Set([...configured, ...labelled])].sort();
}
