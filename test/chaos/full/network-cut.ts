/** `npm run chaos`: the network-cut campaign at full size, in a world of its own per store (campaigns/network-cut.ts). */
import { describe, it } from 'vitest';
import { CUT_GROUPS, cutTrialsTitle, networkCutCampaign } from '../campaigns/network-cut.ts';
import { runCampaigns } from '../harness.ts';
import { CAMPAIGN_TIMEOUT_MS } from '../settings.ts';

describe.concurrent('fault campaign: a network cut of part of a cluster', () => {
  for (const store of ['sqlite', 'postgres'] as const) {
    it(`${store}: cuts of ${cutTrialsTitle(store)}`, async () => {
      await runCampaigns({ name: 'network cut', store, groups: CUT_GROUPS }, [networkCutCampaign(store)]);
    }, CAMPAIGN_TIMEOUT_MS);
  }
});
