import type { AgentSelfReport } from '../../shared/protocol.ts';

/** An agent's own condition as its latest heartbeat told it: tells "agent stalled" from "host gone". */
export interface AgentReport extends AgentSelfReport {
  /** When this replica received it (the coordinator's clock). */
  at: number;
}

/** An agent whose event loop stalled this long between two heartbeats is reported as stalled. */
export const AGENT_STALL_MS = 1000;

/**
 * The latest self-report of each instance's agent, kept in memory like heartbeat timestamps
 * (soft state: each replica knows what came through it). Updated in place, so a heartbeat
 * allocates nothing here after the first one.
 */
export class AgentReports {
  private readonly byInstance = new Map<number, AgentReport>();
  /** Kept as reports arrive, so the monitor and /metrics never walk the fleet for it. */
  private stalledCount = 0;

  record(instanceId: number, report: AgentSelfReport, at: number): void {
    const known = this.byInstance.get(instanceId);
    this.stalledCount += Number(isStall(report)) - Number(known !== undefined && isStall(known));
    if (!known) {
      this.byInstance.set(instanceId, { eventLoopDelayMs: report.eventLoopDelayMs, rssBytes: report.rssBytes, at });
      return;
    }
    known.eventLoopDelayMs = report.eventLoopDelayMs;
    known.rssBytes = report.rssBytes;
    known.at = at;
  }

  get(instanceId: number): AgentReport | undefined {
    return this.byInstance.get(instanceId);
  }

  /** How many agents' latest report shows a stall of AGENT_STALL_MS or more. */
  get stalled(): number {
    return this.stalledCount;
  }

  /** The longest stall in the agents' latest reports (walks them: for a scrape, not a request). */
  longestStallMs(): number {
    let longest = 0;
    for (const report of this.byInstance.values()) longest = Math.max(longest, report.eventLoopDelayMs);
    return longest;
  }

  /** The instance is gone (deleted): forget its agent. */
  forget(instanceId: number): void {
    const known = this.byInstance.get(instanceId);
    if (known && isStall(known)) this.stalledCount -= 1;
    this.byInstance.delete(instanceId);
  }
}

const isStall = (report: AgentSelfReport) => report.eventLoopDelayMs >= AGENT_STALL_MS;
