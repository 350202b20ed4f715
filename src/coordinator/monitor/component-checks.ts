import type { ComponentReport, MonitorComponent } from '../store/store.ts';

/** What the monitor saw on one check; gathered by monitor-probe.ts, judged here without I/O. */
export interface MonitorObservation {
  api: { accepting: boolean; version: string; uptimeSecs: number; leader: boolean; replicas: number };
  compiler: {
    store: string;
    storeError: string | null;
    pingMs: number;
    lastSweep: { durationMs: number; terminated: number; skipped: string | null } | null;
    /** How long the sweeper is past its next due sweep (null: this replica does not sweep). */
    sweepOverdueMs: number | null;
    massSilenceHolds: number;
    graceUntil: string | null;
    /** What began the grace in force (a stall or a store outage is the coordinator's own trouble). */
    graceReason: string | null;
  };
  runner: {
    instances: number;
    expected: number;
    active: number;
    timedOut: number;
    failing: number;
    disabled: number;
    capacity: number;
    consumed: number;
    /** Agents whose latest heartbeat reported an event-loop stall (informational: they still heartbeat). */
    stalledAgents: number;
    /** Instances in maintenance: left out of expected, Active, timed out and failing (their silence is planned). */
    inMaintenance?: number;
  };
}

/** A store slower than this to answer a trivial query makes the state engine Unhealthy. */
export const SLOW_STORE_MS = 1000;
/** `*_info` texts are capped so a pathological fleet cannot bloat the events table. */
export const INFO_CAP_BYTES = 8192;

export function capInfo(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= INFO_CAP_BYTES) return text;
  return `${bytes.subarray(0, INFO_CAP_BYTES - 3).toString('utf8').replace(/\uFFFD+$/, '')}...`;
}

type Judgement = { healthy: boolean; selfInfo: string; resourcesInfo: string };

function judgeApi({ api }: MonitorObservation): Judgement {
  return {
    healthy: api.accepting,
    selfInfo: `nodepulse ${api.version} ${api.accepting ? 'serving requests' : 'shutting down'}; up ${api.uptimeSecs} s`,
    resourcesInfo: `this replica ${api.leader ? 'leads' : 'does not lead'} the sweeper; ${api.replicas} replica(s) serving`,
  };
}

function judgeCompiler({ compiler }: MonitorObservation): Judgement {
  const problems: string[] = [];
  if (compiler.storeError !== null) problems.push(`store unreachable: ${compiler.storeError}`);
  else if (compiler.pingMs > SLOW_STORE_MS) problems.push(`store slow: ${compiler.pingMs} ms`);
  if (compiler.graceReason === 'stall' || compiler.graceReason === 'store outage') {
    problems.push(`recovering from a ${compiler.graceReason}: no node is timed out until ${compiler.graceUntil}`);
  }
  if (compiler.sweepOverdueMs !== null && compiler.sweepOverdueMs > 0) problems.push(`the sweeper is ${Math.round(compiler.sweepOverdueMs / 1000)} s overdue`);
  if (compiler.massSilenceHolds > 0) problems.push(`mass-silence guard holding terminations in ${compiler.massSilenceHolds} cluster(s)`);
  const sweep = compiler.lastSweep ? `last sweep ${Math.round(compiler.lastSweep.durationMs)} ms, ${compiler.lastSweep.terminated} timed out` : 'no sweep yet';
  const grace = compiler.graceUntil ? `; timeout grace until ${compiler.graceUntil}` : '';
  return {
    healthy: problems.length === 0,
    selfInfo: `${problems.length > 0 ? problems.join('; ') : 'turning heartbeats into node states'}; ${sweep}${grace}`,
    resourcesInfo: `${compiler.store} store answered in ${compiler.pingMs} ms`,
  };
}

function judgeRunner({ runner }: MonitorObservation): Judgement {
  const healthy = runner.active >= runner.expected && runner.failing === 0;
  return {
    healthy,
    selfInfo: `${runner.active} of ${runner.expected} expected nodes Active; ${runner.timedOut} timed out; ${runner.failing} failing health checks; ${runner.stalledAgents} agents report event-loop stalls${runner.inMaintenance ? `; ${runner.inMaintenance} instances in maintenance` : ''}`,
    resourcesInfo: `${runner.instances} instances (${runner.disabled} disabled); capacity ${runner.capacity}, consumed ${runner.consumed}`,
  };
}

const JUDGES: Record<MonitorComponent, (observation: MonitorObservation) => Judgement> = { api: judgeApi, compiler: judgeCompiler, runner: judgeRunner };

/**
 * Each component's report. A component that has not passed since the monitor started is
 * `InitialUnhealthy` rather than `Unhealthy`; `passedBefore` is updated in place.
 */
export function judgeComponents(observation: MonitorObservation, passedBefore: Set<MonitorComponent>): Record<MonitorComponent, ComponentReport> {
  const reports = {} as Record<MonitorComponent, ComponentReport>;
  for (const [name, judge] of Object.entries(JUDGES) as [MonitorComponent, (o: MonitorObservation) => Judgement][]) {
    const judgement = judge(observation);
    if (judgement.healthy) passedBefore.add(name);
    reports[name] = {
      status: judgement.healthy ? 'Healthy' : passedBefore.has(name) ? 'Unhealthy' : 'InitialUnhealthy',
      selfInfo: capInfo(judgement.selfInfo),
      resourcesInfo: capInfo(judgement.resourcesInfo),
    };
  }
  return reports;
}
