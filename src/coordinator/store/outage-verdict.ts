import type { TerminationReason } from '../../shared/protocol.ts';
import type { AgentContinuity, OutageVerdict } from './transitions.ts';

/** The instance's node before this registration, as the verdict needs it. */
export interface PreviousNode {
  nodeId: string;
  bootId: string | null;
  /** The agent process that registered it (null: an agent that did not say). */
  agentProcess: string | null;
  lastHeartbeat: number;
  /** How it ended; `superseded` when this registration replaces it while still Active. */
  endedBy: TerminationReason | 'superseded' | null;
}

/** What the registering agent proves about itself. */
export interface ReturnClaim {
  bootId?: string | undefined;
  agent?: AgentContinuity | undefined;
}

/**
 * What happened to a host that comes back after its node was lost (timed out, or superseded
 * while still Active): none after a clean shutdown or for a first registration. Judged from the
 * evidence in this order, the strongest first:
 * - rebooted: another boot id, or the host booted after the node's last heartbeat;
 * - agent restarted: the same boot, another agent process (another process id, or one started
 *   after the last heartbeat);
 * - cut off: the same agent process kept running, with the attempts it saw fail meanwhile;
 * - unknown: the agent sent too little to tell (a seed-only client, an older agent), or the same
 *   process saw no attempt fail (it was paused, not cut off).
 */
export function outageVerdict(previous: PreviousNode | undefined, claim: ReturnClaim): OutageVerdict | undefined {
  if (!previous || (previous.endedBy !== 'HeartbeatTimeout' && previous.endedBy !== 'superseded')) return undefined;
  const base = { previousNodeId: previous.nodeId, silentSince: previous.lastHeartbeat };
  const { agent } = claim;
  const otherBoot = claim.bootId !== undefined && previous.bootId !== null && claim.bootId !== previous.bootId;
  const bootedSince = agent?.hostBootedAt !== undefined && agent.hostBootedAt > previous.lastHeartbeat;
  if (otherBoot || bootedSince) return { outcome: 'rebooted', ...base, bootedAt: agent?.hostBootedAt };
  if (!agent) return { outcome: 'unknown', ...base, why: 'the agent sent no evidence of its process (a seed-only client or an older agent)' };
  const sameProcess = previous.agentProcess === null ? agent.processStartedAt <= previous.lastHeartbeat : agent.processId === previous.agentProcess;
  if (!sameProcess) return { outcome: 'agent-restarted', ...base, agentStartedAt: agent.processStartedAt };
  if (!agent.failures) return { outcome: 'unknown', ...base, why: 'the same agent process, with no failed attempt: it was paused or stalled (SIGSTOP, a frozen VM?)' };
  return { outcome: 'cut-off', ...base, failures: agent.failures };
}
