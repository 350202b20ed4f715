/**
 * The decision behind a registration, shared by every store implementation so that they agree:
 * which instance the agent is, and what happens to that instance's Active node.
 */
export interface InstanceMatch {
  id: number;
  uuid: string | null;
  hostname: string;
}

export interface ActiveNodeOfInstance {
  nodeId: string;
  bootId: string | null;
  lastHeartbeat: number;
}

/** The instance is found by the agent's identity first, then by hostname within the cluster. */
export function chooseInstance<T extends InstanceMatch>(byIdentity: T | undefined, byHostname: T | undefined): T | undefined {
  return byIdentity ?? byHostname;
}

export type ActiveNodeDecision = { action: 'none' } | { action: 'supersede'; nodeId: string } | { action: 'refuse'; nodeId: string; lastHeartbeat: number };

/**
 * An instance never has two Active nodes: a new registration supersedes the old node (the old
 * agent process is gone: a crash, a restart). But when the old node is still heartbeating from a
 * different boot, two hosts share one identity (a cloned VM): refuse instead of letting the two
 * agents evict each other forever.
 */
export function decideActiveNode(
  active: ActiveNodeOfInstance | undefined,
  bootId: string | undefined,
  duplicateSince: number,
): ActiveNodeDecision {
  if (!active) return { action: 'none' };
  const otherBoot = bootId !== undefined && active.bootId !== null && active.bootId !== bootId;
  if (otherBoot && active.lastHeartbeat >= duplicateSince) {
    return { action: 'refuse', nodeId: active.nodeId, lastHeartbeat: active.lastHeartbeat };
  }
  return { action: 'supersede', nodeId: active.nodeId };
}

/** The reason recorded on a node replaced by a new registration of its instance. */
export const SUPERSEDED_REASON = 'Unknown' as const;
