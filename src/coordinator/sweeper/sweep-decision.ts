import type { TimeoutSettings } from '../config.ts';
import type { ExpiredNode } from '../store/store.ts';

/** Safety holds in force, carried from one sweep to the next. */
export interface SafetyState {
  /** No node is timed out before this time (startup grace, or grace after a takeover or outage). */
  graceUntil: number;
  /** Clusters whose mass termination is held: when the hold began, and the latest figures behind it. */
  held: Map<number, ClusterHold>;
  /** Clusters an operator released: their held terminations go ahead on the next sweep. */
  lifted: Set<number>;
}

export interface SweepInput {
  now: number;
  /** Active nodes silent longer than the timeout. */
  expired: readonly ExpiredNode[];
  /** Active node count per cluster that has expired nodes. */
  activeByCluster: ReadonlyMap<number, number>;
  /** The tick ran late: its view of "silent" is unreliable. */
  late: boolean;
  settings: TimeoutSettings;
  safety: SafetyState;
}

export interface ClusterHold {
  clusterId: number;
  silent: number;
  active: number;
  since: number;
}

export type SkipReason = 'startup-grace' | 'late-tick' | 'not-leader';

export interface SweepDecision {
  terminate: ExpiredNode[];
  holds: ClusterHold[];
  /** Clusters whose hold ended (released, expired, or no longer needed). */
  released: number[];
  skipped?: SkipReason;
}

/** The sweeper's whole judgement, as a pure function: which silent nodes to time out now. */
export function decideSweep(input: SweepInput): SweepDecision {
  const { now, settings, safety } = input;
  if (now < safety.graceUntil) return { terminate: [], holds: [], released: [], skipped: 'startup-grace' };
  if (input.late) return { terminate: [], holds: [], released: [], skipped: 'late-tick' };

  const byCluster = new Map<number, ExpiredNode[]>();
  for (const node of input.expired) {
    const list = byCluster.get(node.clusterId) ?? [];
    list.push(node);
    byCluster.set(node.clusterId, list);
  }
  const terminate: ExpiredNode[] = [];
  const holds: ClusterHold[] = [];
  for (const [clusterId, silent] of byCluster) {
    const active = input.activeByCluster.get(clusterId) ?? silent.length;
    const since = safety.held.get(clusterId)?.since ?? now;
    const massSilence =
      settings.massSilence.enabled &&
      active >= settings.massSilence.minNodes &&
      silent.length > settings.massSilence.threshold * active;
    const holdExpired = now - since >= settings.massSilence.maxHoldMs;
    if (massSilence && !holdExpired && !safety.lifted.has(clusterId)) {
      holds.push({ clusterId, silent: silent.length, active, since });
    } else {
      terminate.push(...silent);
    }
  }
  const held = new Set(holds.map((hold) => hold.clusterId));
  const released = [...safety.held.keys()].filter((clusterId) => !held.has(clusterId));
  return { terminate, holds, released };
}
