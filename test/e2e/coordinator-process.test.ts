import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { E2E_ADMIN, E2E_ENROLL, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, makeTempDir, spawnNodepulse, waitFor } from '../helpers/spawn-process.ts';

afterEach(cleanupAll);

/** Heartbeats every second, timed out after 4 s; the grace after a restart is 4 s plus the agents' backoff cap of 2 s. */
const TIMING = ['--heartbeat-interval', '1', '--heartbeat-timeout', '4', '--agent-retry-max-delay-secs', '2'];

describe('the coordinator process', () => {
  it('loses no node and no termination to kill -9, and times out nobody during the startup grace', async () => {
    const first = await startCoordinatorProcess({ args: TIMING });
    const nodes = [];
    for (let index = 0; index < 5; index += 1) {
      const response = await first.post('cluster_RegisterNode', E2E_ENROLL, { name: `n${index}`, identity: `id-${index}` });
      expect(response.status).toBe(200);
      nodes.push(response.body as { nodeId: string; nodeToken: string });
    }
    expect((await first.post('cluster_DeregisterNode', nodes[0]!.nodeToken, {})).status).toBe(200);
    first.proc.kill('SIGKILL');
    await first.proc.waitForExit(10_000);

    // All of them will fall silent at once: switch the mass-silence guard off to see plain timeouts.
    const second = await startCoordinatorProcess({ storePath: first.storePath, args: TIMING, env: { NODEPULSE_MASS_SILENCE_GUARD: 'false' } });
    const details = await second.post('cluster_GetDetails', E2E_ADMIN, { includeTerminated: true });
    expect(details.body.nodes).toHaveLength(5);
    const byId = new Map(details.body.nodes.map((node: { nodeId: string }) => [node.nodeId, node]));
    expect(byId.get(nodes[0]!.nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'Shutdown' });
    for (const node of nodes.slice(1)) expect(byId.get(node.nodeId)).toMatchObject({ status: 'Active' });

    // The nodes were silent while the coordinator was down: the grace keeps them, and a heartbeat continues them.
    const ready = await (await fetch(`${second.url}/readyz`)).json();
    expect(ready.holds.graceUntil).not.toBeNull();
    expect((await second.post('cluster_ReportNodeHeartbeat', nodes[1]!.nodeToken)).status).toBe(200);
    const active = await second.post('cluster_GetDetails', E2E_ADMIN, {});
    expect(active.body.nodes).toHaveLength(4);
    // Once the grace is over, the still-silent ones are timed out as they should be.
    await waitFor(async () => (await second.post('cluster_GetDetails', E2E_ADMIN, {})).body.nodes.length === 0, 30_000, {
      intervalMs: 250,
      message: 'silent nodes timed out after the grace',
    });
    const after = await second.post('cluster_GetDetails', E2E_ADMIN, { includeTerminated: true });
    expect(after.body.nodes.filter((node: { terminationReason?: string }) => node.terminationReason === 'HeartbeatTimeout')).toHaveLength(4);
  });

  it('after being stopped (SIGSTOP) and resumed, starts a timeout grace and keeps its log stream JSON', async () => {
    const coordinator = await startCoordinatorProcess({ args: TIMING });
    await coordinator.proc.waitForLine(/"why":"startup"/, 10_000);
    coordinator.proc.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await waitFor(() => Date.now() - stoppedAt > 4_000, 10_000, { intervalMs: 100 });
    coordinator.proc.kill('SIGCONT');
    const grace = JSON.parse(await coordinator.proc.waitForLine(/"why":"stall"/, 20_000));
    expect(grace).toMatchObject({ level: 'warn', message: expect.stringContaining('timeout grace started') });
    expect(grace.gapMs).toBeGreaterThan(3_000);
    const ready = await (await fetch(`${coordinator.url}/readyz`)).json();
    expect(ready.holds).toMatchObject({ graceReason: 'stall' });
    // node-cron's own "missed execution" lines would be coloured text among the JSON lines.
    expect(coordinator.proc.stderrLines.filter((line) => line.trim() !== '')).toEqual([]);
    for (const line of coordinator.proc.stdoutLines.filter((text) => text.trim() !== '')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('writes buffered heartbeats on %s and exits 0', async (signal) => {
    const first = await startCoordinatorProcess({ args: ['--heartbeat-interval', '30'] });
    const { nodeToken } = (await first.post('cluster_RegisterNode', E2E_ENROLL, { name: 'n' })).body;
    // Heartbeat until the coordinator's clock has moved past joinedAt, so the heartbeat shows.
    const before = await waitFor(
      async () => {
        expect((await first.post('cluster_ReportNodeHeartbeat', nodeToken)).status).toBe(200);
        const [node] = (await first.post('cluster_GetDetails', E2E_ADMIN, {})).body.nodes;
        return node.lastHeartbeat !== node.joinedAt && node;
      },
      10_000,
      { message: 'a heartbeat after joinedAt' },
    );
    first.proc.kill(signal);
    expect(await first.proc.waitForExit(15_000)).toEqual({ code: 0, signal: null });
    const second = await startCoordinatorProcess({ storePath: first.storePath, args: ['--heartbeat-interval', '30'] });
    const [after] = (await second.post('cluster_GetDetails', E2E_ADMIN, {})).body.nodes;
    expect(after.lastHeartbeat).toBe(before.lastHeartbeat);
  });

  it('reads its config file from NODEPULSE_CONFIG, lets a flag win over env and file, and names unknown NODEPULSE_* variables', async () => {
    const file = join(makeTempDir(), 'coordinator.yaml');
    writeFileSync(file, 'heartbeatInterval: 7\nheartbeatTimeout: 40\n');
    const secret = 'value-that-is-never-logged-0123';
    const coordinator = await startCoordinatorProcess({
      args: ['--heartbeat-interval', '9'],
      env: { NODEPULSE_CONFIG: file, NODEPULSE_HEARTBEAT_INTERVAL: '8', NODEPULSE_HEARTBEAT_INTERVL: secret, NODEPULSE_BOOT_ID: 'an-agent-variable' },
    });
    expect((await coordinator.post('cluster_RegisterNode', E2E_ENROLL, { name: 'n' })).body.heartbeatIntervalSecs).toBe(9);
    const listening = JSON.parse(await coordinator.proc.waitForLine(/"listening"/, 1_000));
    expect(listening).toMatchObject({ heartbeatIntervalSecs: 9, heartbeatTimeoutSecs: 40 });
    const warning = JSON.parse(await coordinator.proc.waitForLine(/NODEPULSE_HEARTBEAT_INTERVL/, 1_000));
    expect(warning).toMatchObject({ level: 'warn', variables: ['NODEPULSE_HEARTBEAT_INTERVL'] });
    expect(coordinator.proc.output()).not.toContain(secret);
  });

  it('survives hostile requests and keeps every registration', async () => {
    const coordinator = await startCoordinatorProcess();
    const { nodeId } = (await coordinator.post('cluster_RegisterNode', E2E_ENROLL, { name: 'keeper' })).body;
    const action = `${coordinator.url}/api/v1/actions/invoke/cluster_RegisterNode`;
    const hostile: Array<Promise<Response>> = [];
    const auth = { authorization: `Bearer ${E2E_ENROLL}`, 'content-type': 'application/json' };
    for (let index = 0; index < 50; index += 1) {
      hostile.push(fetch(action, { method: 'POST', headers: auth, body: '{"name": '.repeat(index + 1) }));
      hostile.push(fetch(action, { method: 'POST', headers: auth, body: `${'['.repeat(5000)}${']'.repeat(5000)}` }));
      hostile.push(fetch(action, { method: 'POST', headers: auth, body: 'x'.repeat(200_000) }));
      hostile.push(fetch(action, { method: 'POST', headers: { ...auth, authorization: `Bearer ${'A'.repeat(6000)}` }, body: '{}' }));
      hostile.push(fetch(action, { method: 'POST', headers: auth, body: JSON.stringify({ labels: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v'])) }) }));
    }
    const statuses = (await Promise.allSettled(hostile)).map((result) => (result.status === 'fulfilled' ? result.value.status : 'network error'));
    expect(statuses.filter((status) => typeof status === 'number' && status >= 500)).toEqual([]);
    expect(new Set(statuses.filter((status) => typeof status === 'number'))).toEqual(new Set([400, 401, 413]));
    expect((await fetch(`${coordinator.url}/healthz`)).status).toBe(200);
    const nodes = (await coordinator.post('cluster_GetDetails', E2E_ADMIN, {})).body.nodes;
    expect(nodes.map((node: { nodeId: string }) => node.nodeId)).toEqual([nodeId]);
    expect(coordinator.proc.output()).not.toContain(E2E_ENROLL);
    expect(coordinator.proc.output()).not.toContain(E2E_ADMIN);
  });
});

describe('configuration errors exit 78 and name the key', () => {
  const cases: Array<{ what: string; args: string[]; env?: Record<string, string>; file?: string; mentions: string }> = [
    { what: 'an unknown key in the config file', args: [], file: 'heartbeatIntervall: 5\n', mentions: 'heartbeatIntervall' },
    { what: 'a bad value in the config file', args: [], file: 'heartbeatInterval: "soon"\n', mentions: 'heartbeatInterval' },
    { what: 'a bad environment value', args: [], env: { NODEPULSE_HEARTBEAT_INTERVAL: 'soon' }, mentions: 'NODEPULSE_HEARTBEAT_INTERVAL' },
    { what: 'a bad flag value', args: ['--log-level', 'loud'], mentions: 'logLevel' },
    { what: 'a timeout shorter than two intervals', args: ['--heartbeat-interval', '10', '--heartbeat-timeout', '15'], mentions: 'heartbeatTimeout' },
    { what: 'an unknown flag', args: ['--heartbeat-intervl', '5'], mentions: '--heartbeat-intervl' },
    { what: 'a schedule node-cron rejects', args: [], env: { NODEPULSE_MONITOR_SCHEDULE: 'bogus' }, mentions: 'monitorSchedule' },
  ];
  it.each(cases)('$what', async ({ args, env, file, mentions }) => {
    const dir = makeTempDir();
    const configArgs = file === undefined ? [] : ['--config', join(dir, 'coordinator.yaml')];
    if (file !== undefined) writeFileSync(join(dir, 'coordinator.yaml'), file);
    const proc = spawnNodepulse(['coordinator', 'serve', '--store', join(dir, 'db.sqlite'), '--port', '0', ...configArgs, ...args], { env });
    expect((await proc.waitForExit(30_000)).code).toBe(78);
    expect(proc.stderrLines.join('\n')).toContain(mentions);
  });
});
