/**
 * The agent's production entry point, as systemd/nodepulse-agent.service and the Dockerfile run
 * it: both steps of `npm run build` (tsc, then scripts/bundle.mjs) into a temporary tree, then the
 * unit's ExecStart command (its node flags and dist/bundle/nodepulse.js) running `agent facts`.
 * The tsc tree (dist/cli/main.js, the coordinator's entry point) runs the same command.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { execStartCommand } from '../../bench/lib/runtime.ts';
import { REPO_ROOT, makeTempDir } from '../helpers/spawn-process.ts';

const unit = readFileSync(join(REPO_ROOT, 'systemd', 'nodepulse-agent.service'), 'utf8');
const root = makeTempDir('nodepulse-build-');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 50_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function facts(command: string[]): { facts: Record<string, any>; collectionMs: number } {
  const result = run([...command, 'agent', 'facts', '--state-dir', join(root, 'state')]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
}

beforeAll(() => {
  // The tree as installed: package.json beside dist/ (the version is read from it), node_modules for the unbundled packages.
  copyFileSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  const tsc = run([join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(root, 'dist')]);
  expect(tsc.stdout + tsc.stderr).toBe('');
  const bundle = run(['scripts/bundle.mjs', '--outdir', join(root, 'dist', 'bundle')]);
  expect(bundle.stderr).toBe('');
  expect(bundle.status).toBe(0);
}, 120_000);

describe('the compiled agent', () => {
  it('runs `agent facts` with the systemd unit\'s node flags and bundle', () => {
    const { nodeArgs, script } = execStartCommand(unit, root);
    expect(script).toBe(join(root, 'dist', 'bundle', 'nodepulse.js'));
    const out = facts([...nodeArgs, script]);
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(out.facts).toMatchObject({ agentVersion: version, cpu: { cpus: expect.any(Number) }, memory: { totalBytes: expect.any(Number) } });
    expect(out.facts.os).toEqual(expect.any(String));
    expect(out.facts.disks).toEqual([expect.objectContaining({ mount: '/' })]);
    expect(out.facts.unknown).toBeUndefined();
  });

  it('runs `agent facts` from the tsc tree too', () => {
    expect(facts([join(root, 'dist', 'cli', 'main.js')]).facts.cpu.cpus).toBeGreaterThan(0);
  });

  it('is the command of the container image as well', () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'))?.[1];
    const { nodeArgs, script } = execStartCommand(unit, '');
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['node', ...nodeArgs, script.replace(/^\//, ''), 'agent', 'run']);
  });
});
