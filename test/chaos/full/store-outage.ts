/** `npm run chaos`: the store-outage campaign at full size, in a world of its own per store (campaigns/store-outage.ts). */
import { describe, it } from 'vitest';
import { storeOutageCampaign } from '../campaigns/store-outage.ts';
import { runCampaigns } from '../harness.ts';
import { CAMPAIGN_TIMEOUT_MS, FLEET_SIZE, REAL_AGENTS } from '../settings.ts';

describe.concurrent('fault campaign: the store unreachable for two timeouts', () => {
  for (const store of ['sqlite', 'postgres'] as const) {
    it(`${store}: outages time out no live node and lose nothing`, async () => {
      await runCampaigns(
        { name: 'store outage', store, ownPostgres: store === 'postgres', groups: [{ name: 'fleet', sims: FLEET_SIZE - REAL_AGENTS, agents: REAL_AGENTS }] },
        [storeOutageCampaign],
      );
    }, CAMPAIGN_TIMEOUT_MS);
  }
});
