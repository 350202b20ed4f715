import { type TimeoutSettings, allSettings, settingsOfCluster } from '../config.ts';
import type { Store } from '../store/store.ts';

/**
 * Each cluster's timeout settings, by cluster id, for the sweeper: its own when the config names
 * it under `clusters`, else the global ones. Clusters are never renamed, so each id is looked up
 * once. `shortest` bounds every cluster from below: no node can be expired, overdue or out of its
 * grace earlier than it says.
 */
export class ClusterSettings {
  private readonly byId = new Map<number, TimeoutSettings>();
  readonly shortest: TimeoutSettings;
  /** The longest grace of any cluster: nobody anywhere is timed out before a gap plus this. */
  readonly longestGraceMs: number;

  constructor(
    readonly settings: TimeoutSettings,
    private readonly store: Pick<Store, 'findClusterById'>,
  ) {
    const all = allSettings(settings);
    const least = (pick: (s: TimeoutSettings) => number) => Math.min(...all.map(pick));
    this.shortest = { ...settings, timeoutMs: least((s) => s.timeoutMs), overdueAfterMs: least((s) => s.overdueAfterMs), graceMs: least((s) => s.graceMs) };
    this.longestGraceMs = Math.max(...all.map((s) => s.graceMs));
  }

  /** Whether some cluster has settings of its own. */
  get perCluster(): boolean {
    return (this.settings.clusters?.size ?? 0) > 0;
  }

  async of(clusterId: number): Promise<TimeoutSettings> {
    if (!this.perCluster) return this.settings;
    const known = this.byId.get(clusterId);
    if (known) return known;
    const cluster = await this.store.findClusterById(clusterId);
    const own = settingsOfCluster(this.settings, cluster?.name);
    this.byId.set(clusterId, own);
    return own;
  }
}
