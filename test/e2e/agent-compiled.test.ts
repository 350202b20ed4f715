/**
 * The agent's production artefact: `npm run build` step 2 (scripts/bundle.mjs) writes
 * dist/nodepulse-agent.mjs, which must run with nothing but Node.js: the file is copied alone
 * into an empty directory and runs there against a real coordinator. It is what the systemd unit
 * and the container start; the tsc tree (dist/cli/main.js, the rest of the CLI) runs too.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execStartCommand } from '../../bench/lib/runtime.ts';
import { type CoordinatorProcess, E2E_ENROLL, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { REPO_ROOT, cleanupAll, makeTempDir, spawnProcess, waitFor } from '../helpers/spawn-process.ts';
import { FAST, nodeById, waitForRegistration } from './agent-helpers.ts';

const unit = readFileSync(join(REPO_ROOT, 'systemd', 'nodepulse-agent.service'), 'utf8');
const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const root = makeTempDir('nodepulse-build-');
/** An empty directory holding nothing but the agent file: no package.json, no node_modules. */
const alone = makeTempDir('nodepulse-agent-alone-');
const agentFile = join(alone, 'nodepulse-agent.mjs');

function run(args: string[], cwd = REPO_ROOT): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 50_000, env: { PATH: process.env.PATH } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  const bundle = run(['scripts/bundle.mjs', '--outfile', join(root, 'dist', 'nodepulse-agent.mjs')]);
  expect(bundle.stderr).toBe('');
  expect(bundle.status).toBe(0);
  copyFileSync(join(root, 'dist', 'nodepulse-agent.mjs'), agentFile);
  // The tsc tree as installed: package.json beside dist/ (the version is read from it), node_modules for its packages.
  copyFileSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  const tsc = run([join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(root, 'dist')]);
  expect(tsc.stdout + tsc.stderr).toBe('');
}, 120_000);

afterAll(cleanupAll);

describe('the one-file agent (dist/nodepulse-agent.mjs)', () => {
  it('answers --version and --help from an empty directory', () => {
    expect(readdirSync(alone)).toEqual(['nodepulse-agent.mjs']);
    expect(run([agentFile, '--version'], alone)).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: '' });
    const help = run([agentFile, 'agent', 'run', '--help'], alone);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--coordinator');
    expect(help.stdout).toContain('--status-listen');
  });

  it('registers, heartbeats and deregisters on SIGTERM with nothing beside it', async () => {
    const coordinator: CoordinatorProcess = await startCoordinatorProcess({ args: FAST });
    const { nodeArgs } = execStartCommand(unit, root);
    const agent = spawnProcess(
      process.execPath,
      [...nodeArgs, agentFile, 'agent', 'run', '--coordinator', coordinator.url, '--state-dir', join(alone, 'state'), '--startup-delay', '0'],
      { cwd: alone, name: 'one-file agent', env: { NODEPULSE_ENROLL_TOKEN: E2E_ENROLL } },
    );
    const nodeId = await waitForRegistration(agent);
    const registered = await nodeById(coordinator, nodeId);
    // A heartbeat after the registration moves lastHeartbeat on (the coordinator's interval is 1 s).
    await waitFor(async () => (await nodeById(coordinator, nodeId))!.lastHeartbeat > registered!.lastHeartbeat, 15_000, { message: 'a heartbeat' });
    agent.kill('SIGTERM');
    expect(await agent.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    expect(await nodeById(coordinator, nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'Shutdown' });
    expect(agent.stderrLines.join('\n')).toBe('');
  });

  it('is the command of the systemd unit and of the container image', () => {
    const { nodeArgs, script } = execStartCommand(unit, root);
    expect(script).toBe(join(root, 'dist', 'nodepulse-agent.mjs'));
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'))?.[1];
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['node', ...nodeArgs, script.slice(root.length + 1), 'agent', 'run']);
  });

  it('runs `agent facts` under the unit\'s node flags', () => {
    const { nodeArgs } = execStartCommand(unit, root);
    const result = run([...nodeArgs, agentFile, 'agent', 'facts', '--state-dir', join(alone, 'state')], alone);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const { facts } = JSON.parse(result.stdout) as { facts: Record<string, any> };
    expect(facts).toMatchObject({ agentVersion: version, cpu: { cpus: expect.any(Number) }, memory: { totalBytes: expect.any(Number) } });
    expect(facts.os).toEqual(expect.any(String));
    expect(facts.disks).toEqual([expect.objectContaining({ mount: '/' })]);
  });
});

describe('the tsc tree (dist/cli/main.js)', () => {
  it('runs `agent facts` too', () => {
    const result = run([join(root, 'dist', 'cli', 'main.js'), 'agent', 'facts', '--state-dir', join(root, 'state')]);
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { facts: { cpu: { cpus: number } } }).facts.cpu.cpus).toBeGreaterThan(0);
  });
});
