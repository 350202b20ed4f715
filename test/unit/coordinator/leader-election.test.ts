import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { LeaderElection } from '../../../src/coordinator/leadership/leader-election.ts';
import type { LeaderLock } from '../../../src/coordinator/leadership/leader-lock.ts';
import { createLogger } from '../../../src/shared/logger.ts';

const logger = createLogger({ level: 'error', component: 'test', stream: new PassThrough().resume() });

function fakeLock(): LeaderLock & { free: boolean; down: boolean } {
  let held = false;
  return {
    free: false,
    down: false,
    async tryAcquire() {
      if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      held = this.free;
      return held;
    },
    async stillHeld() {
      if (this.down) throw Object.assign(new Error('Connection terminated unexpectedly'), {});
      return held;
    },
    async release() {
      held = false;
    },
  };
}

function election(lock: LeaderLock | undefined) {
  const grace = { grantGrace: vi.fn() };
  const graces = (why: string) => grace.grantGrace.mock.calls.filter(([reason]) => reason === why).length;
  const takeovers = () => graces('takeover');
  const recoveries = () => graces('store outage');
  const ping = vi.fn(async () => undefined);
  const leader = new LeaderElection({ lock, ping, logger, intervalMs: 1000, grace });
  return { leader, takeovers, recoveries, ping };
}

describe('leader election', () => {
  it('always leads without a lock (SQLite) and only watches the store', async () => {
    const { leader, takeovers, recoveries, ping } = election(undefined);
    expect(leader.isLeader()).toBe(true);
    ping.mockRejectedValueOnce(new Error('disk gone'));
    await leader.runRound();
    expect(leader.isLeader()).toBe(true);
    await leader.runRound();
    expect(recoveries()).toBe(1);
    expect(takeovers()).toBe(0);
  });

  it('follows until it takes the lock, then grants its takeover grace once', async () => {
    const lock = fakeLock();
    const { leader, takeovers } = election(lock);
    await leader.runRound();
    expect(leader.isLeader()).toBe(false);
    lock.free = true;
    await leader.runRound();
    await leader.runRound();
    expect(leader.isLeader()).toBe(true);
    expect(takeovers()).toBe(1);
  });

  it('stops leading when the store is unreachable and reports the recovery once', async () => {
    const lock = fakeLock();
    lock.free = true;
    const { leader, takeovers, recoveries } = election(lock);
    await leader.runRound();
    expect(leader.isLeader()).toBe(true);
    lock.down = true;
    await leader.runRound();
    await leader.runRound();
    expect(leader.isLeader()).toBe(false);
    lock.down = false;
    await leader.runRound();
    expect(leader.isLeader()).toBe(true);
    expect(recoveries()).toBe(1);
    expect(takeovers()).toBe(2);
  });

  it('gives the lock up on stop', async () => {
    const lock = fakeLock();
    lock.free = true;
    const release = vi.spyOn(lock, 'release');
    const { leader } = election(lock);
    await leader.runRound();
    await leader.stop();
    expect(leader.isLeader()).toBe(false);
    expect(release).toHaveBeenCalled();
  });
});
