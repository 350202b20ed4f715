import { Gauge, type Registry } from 'prom-client';
import { clusterNamesById } from '../clusters/cluster-names.ts';
import type { FleetCounts } from '../fleet/fleet-counts.ts';
import type { InstanceTally, Store } from '../store/store.ts';

/** Each instance is in exactly one state, so the states of a cluster add up to its instances. */
const STATES: readonly { state: string; of: (tally: InstanceTally) => number }[] = [
  { state: 'running', of: (tally) => tally.running },
  { state: 'timed_out', of: (tally) => tally.timedOut },
  { state: 'stopped', of: (tally) => tally.instances - tally.running - tally.timedOut },
];

/**
 * `nodepulse_instances{cluster, state}`: every cluster's hosts by the state of their newest node,
 * read at scrape time from the fleet counts kept in memory (fleet/fleet-counts.ts): one tally per
 * cluster, never a scan of the nodes. Clusters are labelled by name, each looked up in the store
 * once (a cluster is never renamed or removed); one whose name cannot be read yet (the store is
 * down) is left out of that scrape rather than shown under another label.
 */
export function registerFleetGauges(registry: Registry, parts: { fleet: Pick<FleetCounts, 'tallies'>; store: Store }): void {
  const names = new Map<number, string>();
  const nameOf = async (tallies: readonly InstanceTally[]) => {
    const missing = tallies.map((tally) => tally.clusterId).filter((id) => !names.has(id));
    if (missing.length === 0) return;
    try {
      for (const [id, name] of await clusterNamesById(parts.store, missing)) names.set(id, name);
    } catch {
      // The store is unreachable: those clusters show on the next scrape that can name them.
    }
  };
  new Gauge({
    name: 'nodepulse_instances',
    help: 'Instances (hosts) by cluster and the state of their newest node: running (an Active node), timed_out (ended by HeartbeatTimeout: the hosts that ought to come back), stopped (shut down, replaced, or never registered)',
    labelNames: ['cluster', 'state'],
    registers: [registry],
    async collect() {
      const tallies = parts.fleet.tallies();
      await nameOf(tallies);
      this.reset();
      for (const tally of tallies) {
        const cluster = names.get(tally.clusterId);
        if (cluster === undefined) continue;
        for (const { state, of } of STATES) this.set({ cluster, state }, of(tally));
      }
    },
  });
}
