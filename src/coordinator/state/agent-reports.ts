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

  record(instanceId: number, report: AgentSelfReport, at: number): void {
    const known = this.byInstance.get(instanceId);
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

  /** How many agents' latest report shows a stall of AGENT_STALL_MS or more, and the longest reported. */
  stalls(): { stalled: number; longestMs: number } {
    let stalled = 0;
    let longestMs = 0;
    for (const report of this.byInstance.values()) {
      if (report.eventLoopDelayMs >= AGENT_STALL_MS) stalled += 1;
      longestMs = Math.max(longestMs, report.eventLoopDelayMs);
    }
    return { stalled, longestMs };
  }

  /** The instance is gone (deleted): forget its agent. */
  forget(instanceId: number): void {
    this.byInstance.delete(instanceId);
  }
}
