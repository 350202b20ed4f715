import { afterEach, expect, it } from 'vitest';
import { ADMIN, type Harness, startHarness } from '../../helpers/coordinator-harness.ts';

let h: Harness;
afterEach(async () => h.close());

const instance = async (hostname: string) => {
  const response = await h.coordinator.app.inject({ method: 'GET', url: `/api/v2/instances/?hostname=${hostname}`, headers: { authorization: `Bearer ${ADMIN}` } });
  return JSON.parse(response.body).results[0];
};
const metric = async (name: string) => {
  const text = (await h.coordinator.app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
};

it("keeps each agent's latest self-report, shows it on its instance and counts stalled agents in /metrics", async () => {
  h = await startHarness();
  const stalled = await h.register({ name: 'stalled', hostname: 'stalled', identity: 'stalled' });
  const fine = await h.register({ name: 'fine', hostname: 'fine', identity: 'fine' });
  expect((await instance('stalled')).summary_fields).toEqual({ cluster: { id: expect.any(Number), name: 'default' } });

  await h.call('cluster_ReportNodeHeartbeat', stalled.nodeToken, { agent: { eventLoopDelayMs: 2500, rssBytes: 60_000_000 } });
  await h.call('cluster_ReportNodeHeartbeat', fine.nodeToken, { agent: { eventLoopDelayMs: 3, rssBytes: 55_000_000 } });
  expect((await instance('stalled')).summary_fields.agent).toEqual({ event_loop_delay_ms: 2500, rss_bytes: 60_000_000, reported_at: new Date(h.clock.now()).toISOString() });
  expect(await metric('nodepulse_agents_stalled')).toBe(1);
  expect(await metric('nodepulse_agent_event_loop_delay_max_seconds')).toBe(2.5);

  h.clock.advance(10_000);
  await h.call('cluster_ReportNodeHeartbeat', stalled.nodeToken, { agent: { eventLoopDelayMs: 4, rssBytes: 61_000_000 } });
  expect((await instance('stalled')).summary_fields.agent).toMatchObject({ event_loop_delay_ms: 4, reported_at: new Date(h.clock.now()).toISOString() });
  expect(await metric('nodepulse_agents_stalled')).toBe(0);
});
