/**
 * The agent image without a container engine: the Dockerfile's `agent` target is read
 * (ENTRYPOINT, ENV, WORKDIR, HEALTHCHECK, the file it copies), the one-file agent is built to
 * where the image has it, and the entry point runs as PID 1 of a new PID namespace
 * (`unshare --pid --fork --mount-proc`, test/deploy/container-run.ts). PID 1 gets no default
 * signal handling from the kernel, so this proves the agent handles SIGTERM itself, and a change
 * to the Dockerfile's command breaks this test.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ENROLL, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { REPO_ROOT, cleanupAll, freePort, makeTempDir, spawnProcess, waitFor } from '../helpers/spawn-process.ts';
import { containerPid, runHealthcheck, startContainer } from '../deploy/container-run.ts';
import { dockerStage } from '../deploy/dockerfile.ts';
import { FAST, nodeById, waitForRegistration } from './agent-helpers.ts';

const agent = dockerStage('agent');
/** Stands for the image's root: the one file at the path the Dockerfile copies it to (kept across tests). */
const imageRoot = mkdtempSync(join(tmpdir(), 'nodepulse-agent-image-'));

beforeAll(async () => {
  const [copy] = agent.copies;
  mkdirSync(dirname(join(imageRoot, copy!.dest)), { recursive: true });
  const bundle = spawnProcess(process.execPath, ['scripts/bundle.mjs', '--outfile', join(imageRoot, copy!.dest)], { cwd: REPO_ROOT, name: 'bundle' });
  expect(await bundle.waitForExit(60_000)).toEqual({ code: 0, signal: null });
}, 90_000);

afterEach(cleanupAll);
afterAll(() => rmSync(imageRoot, { recursive: true, force: true }));

/** As `docker run -e ...`: the image's entry point unchanged, settings through the environment. */
async function startAgentContainer(coordinatorUrl: string, deregisterTimeout: string) {
  const env = {
    NODEPULSE_COORDINATOR: coordinatorUrl,
    NODEPULSE_ENROLL_TOKEN: E2E_ENROLL,
    // The image's state directory is a volume; here a fresh directory of the test's.
    NODEPULSE_STATE_DIR: join(makeTempDir(), 'state'),
    NODEPULSE_STATUS_LISTEN: `127.0.0.1:${await freePort()}`,
    NODEPULSE_LOG_LEVEL: 'debug',
    NODEPULSE_DEREGISTER_TIMEOUT: deregisterTimeout,
    NODEPULSE_RETRY_MAX_DELAY: '1',
    NODEPULSE_STARTUP_DELAY: '0',
  };
  return { container: startContainer(agent, imageRoot, env), env };
}

describe("the agent image's entry point as PID 1 of a PID namespace", () => {
  it('is healthy while it heartbeats, deregisters on SIGTERM and exits 0 promptly', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const { container, env } = await startAgentContainer(coordinator.url, '5');
    const nodeId = await waitForRegistration(container);
    const pid = await containerPid(container);
    await waitFor(async () => (await runHealthcheck(agent, env)) === 0, 20_000, { message: "the image's HEALTHCHECK passing" });

    process.kill(pid, 'SIGTERM');
    const started = Date.now();
    expect(await container.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await nodeById(coordinator, nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'Shutdown' });
    expect(await runHealthcheck(agent, env)).toBe(1);
  }, 120_000);

  it('still exits 0 within the deregistration deadline when the coordinator does not answer', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const { container } = await startAgentContainer(coordinator.url, '2');
    await waitForRegistration(container);
    const pid = await containerPid(container);
    coordinator.proc.kill('SIGSTOP');
    try {
      process.kill(pid, 'SIGTERM');
      const started = Date.now();
      expect(await container.waitForExit(10_000)).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(2_000 + 2_000);
      expect(container.output()).toMatch(/deregistration did not complete before the deadline/);
    } finally {
      coordinator.proc.kill('SIGCONT');
    }
  }, 120_000);
});
