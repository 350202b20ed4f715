import { randomUUID } from 'node:crypto';
import { uptime } from 'node:os';
import type { Clock } from '../shared/clock.ts';
import type { AgentContinuity } from '../shared/protocol.ts';

/** The longest error text sent (the protocol's limit). */
const ERROR_MAX_LENGTH = 512;

interface Failures {
  count: number;
  firstAt: number;
  firstError: string;
  lastAt: number;
  lastError: string;
}

/**
 * What this agent process knows of its own continuity: when it started, the host's uptime, and
 * the attempts it saw fail since its last success. Sent with every registration, so that after a
 * timeout the coordinator can tell a reboot, an agent restart and a cut-off apart. Times go out as
 * ages, so the coordinator never reads this host's clock.
 */
export class ContinuityRecorder {
  readonly processId = randomUUID();
  private readonly startedAt: number;
  private failures: Failures | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly hostUptimeSecs: () => number | undefined = uptime,
  ) {
    this.startedAt = clock.now();
  }

  failed(error: string): void {
    const now = this.clock.now();
    const text = error.slice(0, ERROR_MAX_LENGTH);
    if (!this.failures) this.failures = { count: 0, firstAt: now, firstError: text, lastAt: now, lastError: text };
    this.failures.count += 1;
    this.failures.lastAt = now;
    this.failures.lastError = text;
  }

  succeeded(): void {
    this.failures = undefined;
  }

  report(): AgentContinuity {
    const now = this.clock.now();
    const ago = (at: number) => Math.max(0, (now - at) / 1000);
    const report: AgentContinuity = { processId: this.processId, processUptimeSecs: ago(this.startedAt) };
    const host = this.hostUptimeSecs();
    if (host !== undefined) report.hostUptimeSecs = host;
    const failed = this.failures;
    if (failed) {
      report.failedAttempts = {
        count: failed.count,
        firstSecsAgo: ago(failed.firstAt),
        firstError: failed.firstError,
        lastSecsAgo: ago(failed.lastAt),
        lastError: failed.lastError,
      };
    }
    return report;
  }
}
