/**
 * Real agent processes (`bin/nodepulse agent run`) in a fault campaign: they count as live nodes,
 * and their own backoff, phase spreading and re-registration are what gets exercised. Each runs
 * with a temporary state directory (its own identity) and its own hostname (fake-hostname.mjs,
 * preloaded: as if each ran on a host of its own, which agents sharing one hostname are not).
 * Their registrations are read from their log lines ("registered", with the nodeId).
 */
import { join } from 'node:path';
import { E2E_ENROLL } from '../helpers/coordinator-process.ts';
import { NODEPULSE_BIN, type SpawnedProcess, spawnProcess } from '../helpers/spawn-process.ts';
import type { Attempt, Deregistration, Member, Registration } from './sim-fleet.ts';

const PRELOAD = join(import.meta.dirname, 'fake-hostname.mjs');

export interface RealAgentOptions {
  /** The coordinator URL the agent uses: a proxy. */
  url: string;
  stateDir: string;
  hostname: string;
  group: string;
  intervalSecs: number;
  requestTimeoutSecs: number;
  /** Upper bound of the wait before the first registration. */
  startupDelaySecs: number;
  /** The agent's retryMaxDelay: the coordinator's agentRetryMaxDelaySecs, as an operator configures both. */
  retryCapSecs: number;
  enrollToken?: string;
}

export class RealAgent implements Member {
  readonly kind = 'agent' as const;
  readonly meantAlive = true;
  readonly killedAt = undefined;
  readonly killedNodeId = undefined;
  readonly deregistrations: Deregistration[] = [];
  readonly attempts: Attempt[] = [];
  readonly proc: SpawnedProcess;
  readonly label: string;
  readonly group: string;

  constructor(options: RealAgentOptions) {
    this.label = options.hostname;
    this.group = options.group;
    this.proc = spawnProcess(
      process.execPath,
      [
        '--import',
        PRELOAD,
        NODEPULSE_BIN,
        'agent',
        'run',
        '--coordinator',
        options.url,
        '--state-dir',
        options.stateDir,
        '--heartbeat-interval',
        String(options.intervalSecs),
        '--log-level',
        'debug',
      ],
      {
        name: `agent ${options.hostname}`,
        env: {
          CHAOS_HOSTNAME: options.hostname,
          NODEPULSE_ENROLL_TOKEN: options.enrollToken ?? E2E_ENROLL,
          NODEPULSE_REQUEST_TIMEOUT: String(options.requestTimeoutSecs),
          NODEPULSE_STARTUP_DELAY: String(options.startupDelaySecs),
          NODEPULSE_RETRY_MAX_DELAY: String(options.retryCapSecs),
        },
      },
    );
  }

  registrations(): Registration[] {
    const found: Registration[] = [];
    for (const line of this.proc.stdoutLines) {
      if (!line.includes('"registered"')) continue;
      try {
        const parsed = JSON.parse(line) as { message?: string; nodeId?: string; timestamp?: string };
        if (parsed.message === 'registered' && parsed.nodeId) found.push({ nodeId: parsed.nodeId, at: parsed.timestamp ? Date.parse(parsed.timestamp) : 0 });
      } catch {
        // Not a JSON line.
      }
    }
    return found;
  }

  currentNodeId(): string | undefined {
    return this.registrations().at(-1)?.nodeId;
  }

  /** The agent's log lines about failed requests and state changes, for a failure message. */
  troubleLines(from: number, to: number): string[] {
    return this.proc.stdoutLines.filter((line) => {
      if (!/"level":"(warn|error)"|request failed|forgot or terminated/.test(line)) return false;
      const at = Date.parse(/"timestamp":"([^"]+)"/.exec(line)?.[1] ?? '');
      return Number.isNaN(at) || (at >= from && at <= to);
    });
  }
}
