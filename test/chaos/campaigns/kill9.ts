/**
 * Fault campaign: kill -9 the coordinator at random moments under load, and restart it after 0.5
 * to 3 timeouts. Load: the fleet heartbeating, a simulated node restarted every second (every
 * other one gracefully, deregistered first, the others as a crash: registered again with the
 * same identity and boot id), and an operator token created with `nodepulse token create` in
 * every cycle. On PostgreSQL the victim is one of the two replicas: the sweeping one in every
 * other cycle, a random one otherwise; the other replica serves meanwhile (the proxies fail over).
 *
 * Asserted: no registration, acknowledged termination or token lost; no live node timed out (real
 * agents included); never two Active nodes for one instance. 20 cycles in the full run, 2 here.
 */
import { type Campaign, type PhaseSpec, type Replica, sleep } from '../harness.ts';
import { FULL, TIMEOUT_MS, WATCH_AFTER_FAULT_MS } from '../settings.ts';

const CYCLES = FULL ? 20 : 2;
/** How long the coordinator stays down, in timeouts: random in the full run, both ends of the range here. */
const downFor = (cycle: number) => (FULL ? 0.5 + Math.random() * 2.5 : [0.5, 1.5][cycle % 2]!);
const CHURN_EVERY_MS = 1_000;

/** Restarts a random live simulated node every second until stopped. */
function churn(campaign: Campaign): { stop: () => Promise<void>; restarts: () => number } {
  let running = true;
  let restarts = 0;
  const loop = (async () => {
    let graceful = true;
    while (running) {
      await sleep(CHURN_EVERY_MS);
      const candidates = campaign.liveSims();
      const node = candidates[Math.floor(Math.random() * candidates.length)];
      if (!node) continue;
      restarts += 1;
      void node.restart(graceful);
      graceful = !graceful;
    }
  })();
  return {
    restarts: () => restarts,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function victim(campaign: Campaign, cycle: number): Promise<Replica> {
  if (campaign.replicas.length === 1 || cycle % 2 === 0) return campaign.sweepingReplica(60_000);
  return campaign.replicas[Math.floor(Math.random() * campaign.replicas.length)]!;
}

/** The kill -9 campaign, as one phase of a world. */
export const kill9Campaign: PhaseSpec = {
  name: 'kill -9',
  run: async (campaign) => {
    const load = churn(campaign);
    const tokenTasks: Promise<void>[] = [];
    let lastRestartAt = Date.now();
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        // A random moment: some load first, and an operator creating a token at some point.
        const tokenAfter = Math.random() * 3_000;
        tokenTasks.push(sleep(tokenAfter).then(() => campaign.createToken()));
        await sleep(500 + Math.random() * 2_500);
        const replica = await victim(campaign, cycle);
        const downMs = Math.round(downFor(cycle) * TIMEOUT_MS);
        campaign.note(`cycle ${cycle + 1}: kill -9 ${replica.name}, restart after ${downMs} ms`);
        await replica.kill9();
        await sleep(downMs);
        await replica.start();
        lastRestartAt = Date.now();
        campaign.trials += 1;
        await campaign.checkDoubleActive();
      }
    } finally {
      await load.stop();
      campaign.note(`load stopped: ${load.restarts()} node restarts`);
      await Promise.all(tokenTasks);
    }
    // Watching after the last restart: the grace, then a whole timeout.
    const watchUntil = lastRestartAt + WATCH_AFTER_FAULT_MS;
    if (watchUntil > Date.now()) await campaign.pass(watchUntil - Date.now());
  },
};
