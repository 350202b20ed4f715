import { clusterNamesById } from '../clusters/cluster-names.ts';
import type { AgentReports } from '../state/agent-reports.ts';
import type { HeartbeatFreshness } from '../state/heartbeat-freshness.ts';
import type { InstanceRecord, Store } from '../store/store.ts';
import type { InstanceSnapshot } from './instance-view.ts';

/** Loads what the derived fields of these instances need: their latest nodes, cluster names and agents' reports. */
export async function loadSnapshots(
  store: Store,
  heartbeats: Pick<HeartbeatFreshness, 'newestHeartbeat'>,
  instances: readonly InstanceRecord[],
  agents?: AgentReports,
): Promise<InstanceSnapshot[]> {
  const nodes = new Map((await store.latestNodes(instances.map((instance) => instance.id))).map((node) => [node.instanceId, node]));
  const names = await clusterNamesById(store, instances.map((instance) => instance.clusterId));
  return instances.map((instance) => {
    const latestNode = nodes.get(instance.id);
    return {
      instance,
      latestNode,
      lastSeen: latestNode ? heartbeats.newestHeartbeat(latestNode) : null,
      clusterName: names.get(instance.clusterId) ?? '',
      agent: agents?.get(instance.id),
    };
  });
}
