/** `npm run chaos`: the kill -9 campaign at full size, in a world of its own per store (campaigns/kill9.ts). */
import { describe, it } from 'vitest';
import { kill9Campaign } from '../campaigns/kill9.ts';
import { runCampaigns } from '../harness.ts';
import { CAMPAIGN_TIMEOUT_MS, FLEET_SIZE, REAL_AGENTS } from '../settings.ts';

describe.concurrent('fault campaign: kill -9 the coordinator under load', () => {
  for (const store of ['sqlite', 'postgres'] as const) {
    it(`${store}: kill -9 cycles lose nothing and time out no live node`, async () => {
      await runCampaigns({ name: 'kill -9', store, groups: [{ name: 'fleet', sims: FLEET_SIZE - REAL_AGENTS, agents: REAL_AGENTS }] }, [kill9Campaign]);
    }, CAMPAIGN_TIMEOUT_MS);
  }
});
