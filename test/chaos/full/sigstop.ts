/** `npm run chaos`: the SIGSTOP campaign at full size, in a world of its own per store (campaigns/sigstop.ts). */
import { describe, it } from 'vitest';
import { sigstopCampaign } from '../campaigns/sigstop.ts';
import { runCampaigns } from '../harness.ts';
import { CAMPAIGN_TIMEOUT_MS, FLEET_SIZE, REAL_AGENTS } from '../settings.ts';

describe.concurrent('fault campaign: SIGSTOP the coordinator', () => {
  for (const store of ['sqlite', 'postgres'] as const) {
    it(`${store}: stalls of 0.5 to 5 timeouts time out no live node`, async () => {
      await runCampaigns({ name: 'SIGSTOP', store, groups: [{ name: 'fleet', sims: FLEET_SIZE - REAL_AGENTS, agents: REAL_AGENTS }] }, [sigstopCampaign]);
    }, CAMPAIGN_TIMEOUT_MS);
  }
});
