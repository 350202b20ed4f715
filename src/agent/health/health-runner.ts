/**
 * Runs the configured health checks on their schedules: a fixed interval (a timer), or a cron
 * expression (node-cron). Each run is bounded by the check's timeout and never overlaps a
 * previous run of the same check, not even one that timed out but never returned (a statfs on a
 * hung NFS mount): that check is reported critical and not started again until its call returns.
 * Checks run apart from the heartbeat loop, so a slow or hung check never delays a heartbeat;
 * the loop only reads the latest results.
 */
import { scheduleCron } from '../../shared/cron-task.ts';
import type { HealthReport } from '../../shared/protocol.ts';
import type { Logger } from '../../shared/logger.ts';
import type { CheckConfig } from '../config.ts';
import { type CheckDeps, type CheckResult, DEFAULT_CHECK_TIMEOUT_MS, runCheck } from './checks.ts';
import { type NamedResult, buildReport } from './health-report.ts';

export const DEFAULT_CHECK_INTERVAL_SECS = 30;

export type CheckRunner = (check: CheckConfig, deps: CheckDeps) => Promise<CheckResult>;

export interface HealthRunnerOptions {
  deps: CheckDeps;
  logger: Logger;
  /** Injectable for tests; runCheck by default. */
  run?: CheckRunner;
}

export class HealthRunner {
  private checks: readonly CheckConfig[] = [];
  private readonly results = new Map<string, NamedResult>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Checks whose call outlived its timeout and has still not returned: name -> when it started. */
  private readonly stillPending = new Map<string, number>();
  private stops: (() => void)[] = [];
  private runs = 0;
  private readonly options: HealthRunnerOptions;

  constructor(checks: readonly CheckConfig[], options: HealthRunnerOptions) {
    this.options = options;
    this.checks = checks;
  }

  /** Increases after every completed check run: the heartbeat sends health when it moved. */
  get runCount(): number {
    return this.runs;
  }

  get hasChecks(): boolean {
    return this.checks.length > 0;
  }

  start(): void {
    for (const check of this.checks) this.stops.push(this.scheduleCheck(check));
  }

  stop(): void {
    for (const stop of this.stops) stop();
    this.stops = [];
  }

  /** Replaces the checks (SIGHUP): results of removed checks are dropped. */
  reload(checks: readonly CheckConfig[]): void {
    this.stop();
    this.checks = checks;
    const names = new Set(checks.map((c) => c.name));
    for (const name of [...this.results.keys()]) if (!names.has(name)) this.results.delete(name);
    this.start();
  }

  /** Runs every check now (or joins its run in progress) and returns the report. */
  async runAll(): Promise<HealthReport | undefined> {
    await Promise.all(this.checks.map((check) => this.runOne(check)));
    return this.report();
  }

  /** The latest result of each check, worst status first in `status`; undefined without checks. */
  report(): HealthReport | undefined {
    if (this.checks.length === 0) return undefined;
    const results = this.checks.flatMap((c) => {
      const result = this.results.get(c.name);
      return result ? [result] : [];
    });
    return results.length > 0 ? buildReport(results) : undefined;
  }

  private scheduleCheck(check: CheckConfig): () => void {
    if (check.cron !== undefined) {
      const task = scheduleCron(check.cron, () => this.runOne(check), { name: `check:${check.name}`, logger: this.options.logger });
      return () => void task.destroy();
    }
    const everyMs = (check.interval ?? DEFAULT_CHECK_INTERVAL_SECS) * 1000;
    void this.runOne(check);
    const timer = setInterval(() => void this.runOne(check), everyMs);
    return () => clearInterval(timer);
  }

  runOne(check: CheckConfig): Promise<void> {
    const running = this.inFlight.get(check.name);
    if (running) return running;
    const run = this.execute(check).finally(() => this.inFlight.delete(check.name));
    this.inFlight.set(check.name, run);
    return run;
  }

  private async execute(check: CheckConfig): Promise<void> {
    const pendingSince = this.stillPending.get(check.name);
    if (pendingSince !== undefined) {
      // Starting it again would pile up calls that never return (and, for fs calls, exhaust libuv's threads).
      const output = `timed out: the run started ${Date.now() - pendingSince} ms ago has not returned; not started again until it does`;
      this.record(check.name, { status: 'critical', output });
      return;
    }
    const timeoutMs = (check.timeout ?? DEFAULT_CHECK_TIMEOUT_MS / 1000) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'critical', output: `timed out after ${timeoutMs} ms` }), timeoutMs);
    });
    const result = await Promise.race([this.call(check), timeout]).finally(() => clearTimeout(timer));
    this.record(check.name, result);
  }

  /** Starts the check; until its call settles, the check counts as still pending. */
  private call(check: CheckConfig): Promise<CheckResult> {
    const run = this.options.run ?? runCheck;
    const call = Promise.resolve()
      .then(() => run(check, this.options.deps))
      .catch((error: unknown): CheckResult => ({ status: 'critical', output: (error as Error).message || String(error) }));
    this.stillPending.set(check.name, Date.now());
    void call.then(() => this.stillPending.delete(check.name));
    return call;
  }

  private record(name: string, result: CheckResult): void {
    const previous = this.results.get(name);
    this.results.set(name, { name, ...result });
    this.runs += 1;
    if (previous?.status !== result.status) {
      const level = result.status === 'passing' ? 'info' : 'warn';
      this.options.logger.log(level, 'health check status', { check: name, status: result.status, output: result.output });
    }
  }
}
