/** The agent's own condition, sent with each heartbeat: event-loop delay (worst since the last one) and RSS. */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export class SelfMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  /** The worst event-loop delay since the previous call, and the current RSS. */
  sample(): { eventLoopDelayMs: number; rssBytes: number } {
    const maxNs = this.histogram.count > 0 ? this.histogram.max : 0;
    this.histogram.reset();
    return { eventLoopDelayMs: Math.round(maxNs / 1e5) / 10, rssBytes: process.memoryUsage.rss() };
  }
}
