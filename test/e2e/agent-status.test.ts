/**
 * The agent's local status, with real processes: the opt-in endpoint (/healthz, /status) and
 * `nodepulse agent status`, by the endpoint and by the status file, from an agent that waits for
 * a coordinator not yet started, through its registration, to its shutdown.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, freePort, makeTempDir, spawnNodepulse, waitFor } from '../helpers/spawn-process.ts';
import { FAST, startAgent, waitForRegistration } from './agent-helpers.ts';

afterEach(cleanupAll);

async function get(port: number, path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.json() };
}

/** `nodepulse agent status` with these flags: its exit code and the JSON it printed. */
async function agentStatus(args: string[]): Promise<{ code: number | null; report: any; stderr: string }> {
  const proc = spawnNodepulse(['agent', 'status', ...args]);
  const { code } = await proc.waitForExit(30_000);
  const stdout = proc.stdoutLines.join('\n');
  return { code, report: stdout ? JSON.parse(stdout) : undefined, stderr: proc.stderrLines.join('\n') };
}

describe('the agent status', () => {
  it('tells, by endpoint and by file, an agent waiting for its coordinator, then registered, then stopped', { timeout: 180_000 }, async () => {
    const coordinatorPort = await freePort();
    const statusPort = await freePort();
    const stateDir = join(makeTempDir('nodepulse-agent-'), 'state');
    const listen = `127.0.0.1:${statusPort}`;
    const { proc: agent } = startAgent(`http://127.0.0.1:${coordinatorPort}`, { stateDir, args: ['--status-listen', listen, '--startup-delay', '0'] });

    await agent.waitForLine(/not registered yet; retrying/, 30_000);
    const waiting = await waitFor(async () => {
      const status = await get(statusPort, '/status');
      return status.body.lastAttempt ? status : undefined;
    }, 30_000);
    expect(waiting.body).toMatchObject({ registered: false, nodeId: null, coordinatorReachable: false, connection: 'unreachable', healthy: true });
    expect(waiting.body.backoff.failures).toBeGreaterThan(0);
    expect(await get(statusPort, '/healthz')).toEqual({ status: 200, body: { healthy: true, connection: 'unreachable' } });
    const byEndpoint = await agentStatus(['--status-listen', listen]);
    expect(byEndpoint).toMatchObject({ code: 0, report: { source: `http://${listen}/status`, registered: false, coordinatorReachable: false } });

    const coordinator = await startCoordinatorProcess({ port: coordinatorPort, args: FAST });
    const nodeId = await waitForRegistration(agent);
    const registered = await waitFor(async () => {
      const { body } = await get(statusPort, '/status');
      return body.registered ? body : undefined;
    }, 15_000);
    expect(registered).toMatchObject({ registered: true, nodeId, coordinatorReachable: true, connection: 'connected', backoff: { failures: 0, delaySecs: 0 } });
    const byFile = await waitFor(async () => {
      const result = await agentStatus(['--state-dir', stateDir]);
      return result.report?.registered ? result : undefined;
    }, 15_000);
    expect(byFile).toMatchObject({ code: 0, report: { source: join(stateDir, 'status.json'), nodeId, healthy: true } });

    agent.kill('SIGTERM');
    expect(await agent.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    const stopped = await agentStatus(['--state-dir', stateDir]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/is not running/);
    const unreachable = await agentStatus(['--status-listen', listen]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(new RegExp(`no agent answers at http://${listen}/status`));
    coordinator.proc.kill('SIGTERM');
  });
});
