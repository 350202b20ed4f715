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

/** A registration refused because the instance's Active node is still heartbeating. */
export type RegistrationRefusal =
  /** The same identity (or seed-only name) from a boot it cannot prove is the node's own: a clone. */
  | { outcome: 'duplicate'; activeNodeId: string; lastHeartbeat: number }
  /** Another agent (another identity) holds the instance of this hostname: two agents on one host. */
  | { outcome: 'hostname-in-use'; activeNodeId: string; lastHeartbeat: number; hostname: string; otherIdentity: string };

export type ActiveNodeDecision = { action: 'none' } | { action: 'supersede'; nodeId: string } | { action: 'refuse'; refusal: RegistrationRefusal };

/**
 * What a registration tells about itself. Plain data: the decision reads heartbeats from the store
 * alone, because the coordinator writes the heartbeats it holds in memory before it registers
 * (node-service.ts), so a node still heartbeating through any path is seen as such here.
 */
export interface RegistrationClaim {
  /** The agent's identity as the instance's uuid (node-service makes it a UUID); the instance is found by it first. */
  identity?: string | undefined;
  /** The instance is found by it when not by the identity. */
  hostname: string;
  /** The kernel boot id the agent sent; a client that sends only seed 000's fields has none. */
  bootId?: string | undefined;
  /** A node whose last heartbeat is at or after this is still heartbeating. */
  duplicateSince: number;
}

/**
 * An instance never has two Active nodes. A registration supersedes the old node once the old
 * node has fallen silent (its host rebooted, its agent is gone, or its identity was lost and the
 * instance is adopted by hostname). While the old node is still heartbeating:
 * - an instance that belongs to another identity (found by hostname, its uuid not the
 *   registration's) is refused: two agents on one host. Their shared boot id proves the same
 *   host, not the same agent, and superseding would let the two evict each other forever;
 * - otherwise the registration supersedes only when it proves to be the same boot (the agent
 *   process restarted: same boot id). Without that proof (no boot id on either side, or a
 *   different one) it is refused: two hosts share one identity or one name (a cloned VM, two
 *   clients that send the same name).
 */
export function decideActiveNode(
  instance: InstanceMatch | undefined,
  active: ActiveNodeOfInstance | undefined,
  claim: RegistrationClaim,
): ActiveNodeDecision {
  if (!instance || !active) return { action: 'none' };
  const supersede = { action: 'supersede', nodeId: active.nodeId } as const;
  const { lastHeartbeat } = active;
  if (lastHeartbeat < claim.duplicateSince) return supersede;
  const otherIdentity = otherAgentsIdentity(instance, claim);
  if (otherIdentity !== undefined) {
    const refusal = { outcome: 'hostname-in-use', activeNodeId: active.nodeId, lastHeartbeat, hostname: instance.hostname, otherIdentity } as const;
    return { action: 'refuse', refusal };
  }
  if (claim.bootId !== undefined && active.bootId === claim.bootId) return supersede;
  return { action: 'refuse', refusal: { outcome: 'duplicate', activeNodeId: active.nodeId, lastHeartbeat } };
}

/**
 * The identity the instance belongs to when that is not the registration's own: the instance was
 * found by hostname and carries another uuid (or the registration has no identity at all).
 * Undefined for an instance without a uuid (pre-created by an admin, or made by a seed-only client).
 */
function otherAgentsIdentity(instance: InstanceMatch, claim: RegistrationClaim): string | undefined {
  return instance.uuid === null || instance.uuid === claim.identity ? undefined : instance.uuid;
}

/** The reason recorded on a node replaced by a new registration of its instance. */
export const SUPERSEDED_REASON = 'Unknown' as const;
