import { describe, expect, it } from 'vitest';
import { SelfMonitor } from '../../../src/agent/self-report.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('self report', () => {
  it('reports an event-loop stall at its length, then resets for the next heartbeat', async () => {
    const monitor = new SelfMonitor();
    monitor.start();
    await sleep(450);
    const busyUntil = Date.now() + 600;
    while (Date.now() < busyUntil) {
      // block the event loop, as a synchronous collector would
    }
    await sleep(450);
    const stalled = monitor.sample();
    expect(stalled.eventLoopDelayMs).toBeGreaterThanOrEqual(350);
    expect(stalled.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    await sleep(650);
    expect(monitor.sample().eventLoopDelayMs).toBeLessThan(stalled.eventLoopDelayMs);
    monitor.stop();
  });
});
