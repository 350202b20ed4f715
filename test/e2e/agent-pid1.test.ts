/**
 * The container case without a container engine: the agent runs as PID 1 of a new PID
 * namespace (`unshare --pid --fork --mount-proc`, which needs root). PID 1 gets no default
 * signal handling from the kernel, so this proves the agent handles SIGTERM itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { E2E_ENROLL, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { NODEPULSE_BIN, cleanupAll, makeTempDir, spawnProcess, waitFor } from '../helpers/spawn-process.ts';
import { FAST, nodeById, waitForRegistration } from './agent-helpers.ts';

afterEach(cleanupAll);

function startAsPid1(coordinatorUrl: string, deregisterTimeout: string) {
  const args = ['--pid', '--fork', '--mount-proc', '--', process.execPath, NODEPULSE_BIN, 'agent', 'run'];
  args.push('--coordinator', coordinatorUrl, '--state-dir', join(makeTempDir(), 'state'), '--log-level', 'debug');
  return spawnProcess('unshare', args, {
    name: 'agent-as-pid1',
    env: { NODEPULSE_TOKEN: E2E_ENROLL, NODEPULSE_DEREGISTER_TIMEOUT: deregisterTimeout, NODEPULSE_RETRY_MAX_DELAY: '1', NODEPULSE_STARTUP_DELAY: '0' },
  });
}

/** The agent's pid as seen from here; its /proc status shows it is PID 1 inside its namespace. */
async function agentHostPid(unsharePid: number): Promise<number> {
  const pid = await waitFor(() => {
    const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim();
    return children ? Number(children.split(/\s+/)[0]) : undefined;
  }, 10_000);
  const nspid = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^NSpid:\s+(.*)$/m)?.[1]?.trim().split(/\s+/);
  expect(nspid?.at(-1)).toBe('1');
  return pid;
}

describe('the agent as PID 1 of a PID namespace', () => {
  it('deregisters on SIGTERM and exits 0 promptly', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const proc = startAsPid1(coordinator.url, '5');
    const nodeId = await waitForRegistration(proc);
    const pid = await agentHostPid(proc.pid);
    process.kill(pid, 'SIGTERM');
    const started = Date.now();
    expect(await proc.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await nodeById(coordinator, nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'Shutdown' });
  });

  it('still exits 0 within the deregistration deadline when the coordinator does not answer', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const proc = startAsPid1(coordinator.url, '2');
    await waitForRegistration(proc);
    const pid = await agentHostPid(proc.pid);
    coordinator.proc.kill('SIGSTOP');
    try {
      process.kill(pid, 'SIGTERM');
      const started = Date.now();
      expect(await proc.waitForExit(10_000)).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(2_000 + 2_000);
      expect(proc.output()).toMatch(/deregistration did not complete before the deadline/);
    } finally {
      coordinator.proc.kill('SIGCONT');
    }
  });
});
