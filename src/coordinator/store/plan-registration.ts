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

/** What a registration tells about itself, and the soft state the store does not have yet. */
export interface RegistrationClaim {
  /** The kernel boot id the agent sent; a client that sends only seed 000's fields has none. */
  bootId?: string | undefined;
  /** A node whose last heartbeat is at or after this is still heartbeating. */
  duplicateSince: number;
  /** The newest heartbeat of a node that is still in the coordinator's memory, not yet in the store. */
  pendingHeartbeatOf: (nodeId: string) => number | undefined;
}

/**
 * An instance never has two Active nodes. A new registration supersedes the old node when it
 * proves to be the same boot (the agent process restarted: same boot id) or when the old node
 * has fallen silent (its host rebooted or its agent is gone). While the old node is still
 * heartbeating, a registration that cannot prove it is the same boot (no boot id on either
 * side, or a different one) is refused: two hosts share one identity or one name (a cloned VM,
 * two clients that send the same name), and superseding would let them evict each other forever.
 */
export function decideActiveNode(active: ActiveNodeOfInstance | undefined, claim: RegistrationClaim): ActiveNodeDecision {
  if (!active) return { action: 'none' };
  const sameBoot = claim.bootId !== undefined && active.bootId === claim.bootId;
  const lastHeartbeat = Math.max(active.lastHeartbeat, claim.pendingHeartbeatOf(active.nodeId) ?? 0);
  if (!sameBoot && lastHeartbeat >= claim.duplicateSince) return { action: 'refuse', nodeId: active.nodeId, lastHeartbeat };
  return { action: 'supersede', nodeId: active.nodeId };
}

/** The reason recorded on a node replaced by a new registration of its instance. */
export const SUPERSEDED_REASON = 'Unknown' as const;
