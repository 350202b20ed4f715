/**
 * The agent's own condition, sent with each heartbeat: event-loop delay (worst since the last one)
 * and RSS. A 200 ms sampling resolution still records any stall at its full length (a late
 * sample measures how late it was) and costs far less CPU than a fine one (measured: 20 ms
 * resolution alone costs ~5 ms of CPU per second).
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export class SelfMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 200 });

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
