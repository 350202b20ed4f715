/**
 * The fault campaigns at their SHORT size, inside `npm test`: per store, one world (a SQLite
 * coordinator, or two PostgreSQL replicas on a server of their own; the fleet in the network-cut
 * campaign's groups, three real agents among them) runs the four campaigns one after the other
 * — kill -9 (2 cycles), SIGSTOP (0.5 and 2 timeouts), one store outage, cuts of 20% and 60% — each
 * judged on its own and printed as its own row, with the same assertions as `npm run chaos`,
 * which runs each campaign at full size in a world of its own (test/chaos/full/).
 *
 * One world per store rather than one per campaign: starting coordinators and agents is most of
 * a short campaign's cost on a small machine.
 */
import { describe, it } from 'vitest';
import { kill9Campaign } from './campaigns/kill9.ts';
import { CUT_GROUPS, networkCutCampaign } from './campaigns/network-cut.ts';
import { sigstopCampaign } from './campaigns/sigstop.ts';
import { storeOutageCampaign } from './campaigns/store-outage.ts';
import { runCampaigns } from './harness.ts';
import { CAMPAIGN_TIMEOUT_MS } from './settings.ts';

describe.concurrent('fault campaigns (short): kill -9, SIGSTOP, store outage, network cut', () => {
  for (const store of ['sqlite', 'postgres'] as const) {
    it(`${store}: no live node timed out, nothing lost, never two Active nodes for one instance, the guard holds a cut above its threshold`, async () => {
      await runCampaigns({ name: 'chaos', store, ownPostgres: store === 'postgres', groups: CUT_GROUPS }, [
        kill9Campaign,
        sigstopCampaign,
        storeOutageCampaign,
        networkCutCampaign(store),
      ]);
    }, CAMPAIGN_TIMEOUT_MS);
  }
});
