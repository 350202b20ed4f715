/**
 * Fault campaign: SIGSTOP the coordinator for 0.5, 1, 2 and 5 timeouts, then SIGCONT, and keep
 * watching for the grace plus a timeout. On PostgreSQL the stopped replica is the sweeping one
 * (its /readyz says so); the other replica keeps serving the connections the proxy hands it.
 *
 * Each stall length runs in two ways:
 * - "process": only the process stops (a long GC pause, a suspended container). Its kernel still
 *   completes handshakes and queues the requests that arrive, and the process serves them on
 *   SIGCONT, so most nodes are heard again the moment it resumes.
 * - "frozen host": the process stops and its network goes with it (a frozen VM): the proxies
 *   black-hole that replica for the stall, so nothing is queued and no heartbeat arrives until it
 *   resumes. This is the stall the coordinator has to excuse on its own.
 *
 * Asserted: no live node (simulated or real agent) is timed out; nothing lost; never two Active
 * nodes for one instance. The short size (npm test) runs 0.5 timeouts ("process") and 2 timeouts
 * ("frozen host").
 */
import { waitFor } from '../../helpers/spawn-process.ts';
import type { PhaseSpec } from '../harness.ts';
import { FULL, TIMEOUT_MS, WATCH_AFTER_FAULT_MS } from '../settings.ts';

interface Stall {
  timeouts: number;
  frozenHost: boolean;
}

const STALLS: Stall[] = FULL
  ? [0.5, 1, 2, 5].flatMap((timeouts) => [
      { timeouts, frozenHost: false },
      { timeouts, frozenHost: true },
    ])
  : [
      { timeouts: 0.5, frozenHost: false },
      { timeouts: 2, frozenHost: true },
    ];

const describeStall = (stall: Stall) => `${stall.timeouts} timeouts (${stall.frozenHost ? 'frozen host' : 'process'})`;

/** The SIGSTOP campaign, as one phase of a world. */
export const sigstopCampaign: PhaseSpec = {
  name: 'SIGSTOP',
  run: async (campaign) => {
    for (const stall of STALLS) {
      // A stall inside a grace would be excused by it: start from a coordinator that judges.
      await waitFor(() => campaign.latestGraceUntil() === null, 120_000, { intervalMs: 250, message: 'no timeout grace in force' });
      await campaign.trial(`stall of ${describeStall(stall)}`, async () => {
        const replica = await campaign.sweepingReplica();
        const proxies = [...campaign.proxies.values()];
        replica.stop();
        if (stall.frozenHost) for (const proxy of proxies) proxy.freeze(replica.port);
        await campaign.pass(stall.timeouts * TIMEOUT_MS);
        replica.resume();
        if (stall.frozenHost) for (const proxy of proxies) proxy.thaw(replica.port);
        // Watching: the fleet goes on; what the coordinator does now is the trial's outcome.
        await campaign.pass(WATCH_AFTER_FAULT_MS);
      });
    }
  },
};
