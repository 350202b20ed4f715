import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatFreshness } from '../../../src/coordinator/state/heartbeat-freshness.ts';
import { NodeDirectory } from '../../../src/coordinator/state/node-directory.ts';
import type { Store } from '../../../src/coordinator/store/store.ts';
import { ManualClock } from '../../../src/shared/clock.ts';
import { createLogger } from '../../../src/shared/logger.ts';

type Batch = { nodeId: string; at: number }[];

/** HeartbeatFreshness over a store that only takes heartbeat batches (`written`); `held` makes the next writes wait for `release()`. */
function freshness() {
  const clock = new ManualClock();
  const written: Batch[] = [];
  let failing = false;
  let gate: Promise<void> | undefined;
  let release = () => {};
  const store = {
    writeHeartbeats: vi.fn(async (batch: Batch) => {
      await gate;
      if (failing) throw new Error('store down');
      written.push(batch);
      return batch.filter((beat) => beat.nodeId.startsWith('gone')).map((beat) => beat.nodeId);
    }),
  } as unknown as Store;
  const directory = new NodeDirectory(store);
  const grace = { grantGrace: vi.fn() };
  const sink = new PassThrough();
  let logged = '';
  sink.on('data', (chunk: Buffer) => (logged += chunk.toString()));
  const logger = createLogger({ level: 'debug', component: 'test', pretty: false, stream: sink });
  const heartbeats = new HeartbeatFreshness({ store, directory, logger, flushIntervalMs: 1_000, grace });
  return {
    clock,
    store,
    directory,
    heartbeats,
    grace,
    written,
    logs: () => logged,
    /** A heartbeat of that node now, on the injected clock. */
    beat: (nodeId: string) => heartbeats.record(nodeId, clock.now()),
    failWrites: (fail: boolean) => (failing = fail),
    hold: () => {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => {
      gate = undefined;
      release();
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("a node's newest heartbeat", () => {
  const active = (nodeId: string, lastHeartbeat: number) => ({ nodeId, status: 'Active' as const, lastHeartbeat });

  it("is the store's when this replica holds none", () => {
    const f = freshness();
    expect(f.heartbeats.newestHeartbeat(active('n1', 5_000))).toBe(5_000);
  });

  it('is the one in memory when it is newer than the store’s, and the store’s when another replica wrote a newer one', () => {
    const f = freshness();
    const stored = f.clock.now();
    f.clock.advance(3_000);
    f.beat('n1');
    expect(f.heartbeats.newestHeartbeat(active('n1', stored))).toBe(stored + 3_000);
    expect(f.heartbeats.newestHeartbeat(active('n1', stored + 4_000))).toBe(stored + 4_000);
  });

  it('ignores a heartbeat in memory for a node the store has terminated: it never revives it', () => {
    const f = freshness();
    const stored = f.clock.now();
    f.clock.advance(3_000);
    f.beat('n1');
    expect(f.heartbeats.newestHeartbeat({ nodeId: 'n1', status: 'Terminated', lastHeartbeat: stored })).toBe(stored);
  });

  it('still counts a heartbeat whose batch is being written, until the write commits', async () => {
    const f = freshness();
    f.clock.advance(3_000);
    f.beat('n1');
    f.hold();
    const flushing = f.heartbeats.flush();
    expect(f.heartbeats.pending).toBe(0);
    expect(f.heartbeats.newestHeartbeat(active('n1', 0))).toBe(f.clock.now());
    f.release();
    await flushing;
    expect(f.heartbeats.newestHeartbeat(active('n1', 0))).toBe(0);
  });
});

describe('writing heartbeats', () => {
  it('writes every pending heartbeat in one batch, and forgets the nodes the store no longer has Active', async () => {
    const f = freshness();
    f.directory.add({ nodeId: 'gone-1', clusterId: 1, instanceId: 1, tokenHash: 'h', active: true });
    f.beat('n1');
    f.beat('gone-1');
    await f.heartbeats.flush();
    expect(f.written).toEqual([[{ nodeId: 'n1', at: f.clock.now() }, { nodeId: 'gone-1', at: f.clock.now() }]]);
    expect(f.directory.peek('gone-1')).toBeUndefined();
  });

  it('shares one write among every caller that arrives during a write', async () => {
    const f = freshness();
    f.beat('n1');
    f.hold();
    const first = f.heartbeats.flush();
    f.beat('n2');
    const waiting = [f.heartbeats.flush(), f.heartbeats.flush(), f.heartbeats.flush()];
    f.release();
    await Promise.all([first, ...waiting]);
    expect(f.written.map((batch) => batch.map((beat) => beat.nodeId))).toEqual([['n1'], ['n2']]);
  });

  it('keeps a failed batch for the next try without overwriting newer heartbeats', async () => {
    const f = freshness();
    f.beat('n1');
    f.failWrites(true);
    await expect(f.heartbeats.flush()).rejects.toThrow('store down');
    f.clock.advance(1_000);
    f.beat('n1');
    f.failWrites(false);
    await f.heartbeats.flush();
    expect(f.written).toEqual([[{ nodeId: 'n1', at: f.clock.now() }]]);
  });

  it('on its schedule, logs a failing spell once, and its end once with a store-outage grace', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const f = freshness();
    f.heartbeats.start();
    f.failWrites(true);
    for (let tick = 0; tick < 3; tick += 1) {
      f.beat('n1');
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(f.logs().match(/writing heartbeats failed/g)).toHaveLength(1);
    expect(f.grace.grantGrace).not.toHaveBeenCalled();
    f.failWrites(false);
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(f.logs().match(/writing heartbeats works again/g)).toHaveLength(1);
    expect(f.grace.grantGrace).toHaveBeenCalledTimes(1);
    expect(f.grace.grantGrace).toHaveBeenCalledWith('store outage');
    await f.heartbeats.stop();
  });

  it('writes what is left when it stops, and writes nothing more on its schedule', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const f = freshness();
    f.heartbeats.start();
    f.beat('n1');
    await f.heartbeats.stop();
    expect(f.written).toHaveLength(1);
    f.beat('n2');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(f.written).toHaveLength(1);
  });
});
