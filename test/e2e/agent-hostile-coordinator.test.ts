/**
 * The real agent process against a coordinator URL that answers what no coordinator would:
 * garbage with a 200, 50 MiB answers, and silence after a registration.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { E2E_ENROLL } from '../helpers/coordinator-process.ts';
import { cleanupAll, waitFor } from '../helpers/spawn-process.ts';
import { registeredNodeIds, startAgent, waitForRegistration } from './agent-helpers.ts';
import { type Answer, type FakeCoordinator, flood, hang, json, startFakeCoordinator, text } from './fake-coordinator.ts';

const fakes: FakeCoordinator[] = [];
afterEach(async () => {
  await cleanupAll();
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function fakeCoordinator(): Promise<FakeCoordinator> {
  const fake = await startFakeCoordinator();
  fakes.push(fake);
  return fake;
}

/** Each answer in turn, round and round. */
function inTurn(answers: Answer[]): Answer {
  let next = 0;
  return (res) => answers[next++ % answers.length]!(res);
}

function rssBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) * 1024;
}

const NODE_TOKEN = 'npn_node-e2e_0123456789abcdef';
const REGISTERED = json(200, { nodeId: 'node-e2e', nodeToken: NODE_TOKEN, heartbeatIntervalSecs: 1, retryMaxDelaySecs: 1 });
const badAnswerLines = (lines: string[]) => lines.filter((line) => line.includes('"state":"bad-answer"'));

describe('the agent against a coordinator URL it cannot trust', () => {
  it('never takes a 200 with garbage for a registration: one error line naming the URL, retries with backoff, registers once answered properly', async () => {
    const fake = await fakeCoordinator();
    fake.answer(
      'cluster_RegisterNode',
      inTurn([
        text(200, '<html><body>It works!</body></html>', 'text/html'),
        json(200, {}),
        json(200, { nodeId: 'node-without-token', heartbeatIntervalSecs: 1 }),
      ]),
    );
    const { proc } = startAgent(fake.url);
    await waitFor(() => fake.requests.length >= 6, 30_000, { message: 'six registration attempts' });
    expect(fake.requests.every((r) => r.action === 'cluster_RegisterNode' && r.authorization === `Bearer ${E2E_ENROLL}`)).toBe(true);
    expect(registeredNodeIds(proc)).toEqual([]);
    expect(proc.output()).not.toMatch(/"registered"/);
    const errors = badAnswerLines(proc.stdoutLines);
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({ level: 'error', state: 'bad-answer' });
    expect(errors[0]).toContain(`${fake.url} answered HTTP 200`);
    expect(errors[0]).toMatch(/not a RegisterNodeResponse/);

    fake.answer('cluster_RegisterNode', REGISTERED);
    fake.answer('cluster_ReportNodeHeartbeat', json(200, {}));
    expect(await waitForRegistration(proc)).toBe('node-e2e');
    await waitFor(() => fake.requests.some((r) => r.action === 'cluster_ReportNodeHeartbeat'), 15_000, { message: 'a heartbeat' });
    const heartbeats = fake.requests.filter((r) => r.action === 'cluster_ReportNodeHeartbeat');
    expect(heartbeats.every((r) => r.authorization === `Bearer ${NODE_TOKEN}`)).toBe(true);
    expect(fake.requests.some((r) => r.authorization === 'Bearer undefined')).toBe(false);
    expect(proc.output()).not.toContain(NODE_TOKEN);
    expect(proc.output()).not.toContain(E2E_ENROLL);
  });

  it('stops reading 50 MiB answers after 64 KiB: its memory stays flat over many of them, one error line', async () => {
    const FIFTY_MIB = 50 * 1024 * 1024;
    const fake = await fakeCoordinator();
    const sent: number[] = [];
    const floodAnswer = flood(FIFTY_MIB, sent);
    let baseline: number | undefined;
    fake.answer('cluster_RegisterNode', (res) => {
      baseline ??= rssBytes(proc.pid); // before the agent read anything of the first answer
      floodAnswer(res);
    });
    const { proc } = startAgent(fake.url);
    let peak = 0;
    await waitFor(
      () => {
        peak = Math.max(peak, rssBytes(proc.pid));
        return sent.length >= 10;
      },
      60_000,
      { intervalMs: 20, message: 'ten 50 MiB answers' },
    );
    // Reading them whole takes 50 MiB and more each (RSS went from 120 to 423 MiB before the limit).
    expect(peak - baseline!).toBeLessThan(40 * 1024 * 1024);
    expect(Math.max(...sent)).toBeLessThan(16 * 1024 * 1024);
    expect(badAnswerLines(proc.stdoutLines)).toHaveLength(1);
    expect(badAnswerLines(proc.stdoutLines)[0]).toContain(`${fake.url} answered HTTP 200 with more than 64 KiB`);
    expect(registeredNodeIds(proc)).toEqual([]);
  });

  it('exits 0 within 2 s of SIGTERM when the coordinator accepts connections and never answers', async () => {
    const fake = await fakeCoordinator();
    fake.answer('cluster_RegisterNode', REGISTERED);
    fake.answer('cluster_ReportNodeHeartbeat', json(200, {}));
    const { proc } = startAgent(fake.url);
    await waitForRegistration(proc);
    await proc.waitForLine(/"heartbeat accepted"/, 15_000);
    for (const action of ['cluster_ReportNodeHeartbeat', 'cluster_DeregisterNode']) fake.answer(action, hang);
    const hungFrom = fake.requests.length;
    await waitFor(() => fake.requests.length > hungFrom, 15_000, { message: 'a heartbeat left unanswered' });

    const exited = proc.waitForExit(15_000);
    proc.kill('SIGTERM');
    const signalledAt = Date.now();
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(2_000);
    expect(fake.requests.at(-1)?.action).toBe('cluster_DeregisterNode');
    expect(proc.output()).toMatch(/deregistration did not complete before the deadline/);
  });
});
