/**
 * The npm package as a user installs it: `npm pack` (its prepack builds dist/), then the tarball
 * installed into an empty prefix with no C compiler on PATH and without optional dependencies
 * (better-sqlite3, the one native module, is optional). The installed CLI runs the compiled
 * dist/, and a coordinator on a SQLite store without the driver says so in one line.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, makeTempDir, removeTempDirs } from '../helpers/spawn-process.ts';

const work = makeTempDir('nodepulse-pack-');
/** PATH for the install and the CLI: node and a shell, nothing else (no cc, g++, make, python3). */
const bareBin = join(work, 'bin');
const prefix = join(work, 'prefix');
const npmCli = join(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

function run(command: string, args: string[], options: { cwd?: string; path?: string } = {}) {
  const env = { HOME: process.env.HOME, PATH: options.path ?? process.env.PATH, npm_config_cache: process.env.npm_config_cache };
  const result = spawnSync(command, args, { cwd: options.cwd ?? REPO_ROOT, encoding: 'utf8', timeout: 240_000, env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface PackedFile {
  path: string;
}

let packedFiles: string[] = [];
let tarball = '';

beforeAll(() => {
  const packed = run(process.execPath, [npmCli, 'pack', '--json', '--pack-destination', work]);
  expect(packed.status, packed.stderr).toBe(0);
  const [manifest] = JSON.parse(packed.stdout) as [{ filename: string; files: PackedFile[] }];
  packedFiles = manifest.files.map((file) => file.path);
  tarball = join(work, manifest.filename);
  mkdirSync(bareBin);
  mkdirSync(prefix);
  symlinkSync(process.execPath, join(bareBin, 'node'));
  symlinkSync('/bin/sh', join(bareBin, 'sh'));
  const installed = run(process.execPath, [npmCli, 'install', '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    cwd: prefix,
    path: bareBin,
  });
  expect(installed.status, installed.stderr).toBe(0);
  expect(installed.stderr).not.toContain('EBADENGINE');
}, 300_000);

afterAll(removeTempDirs);

describe('the npm package', () => {
  it('ships the compiled CLI, the one-file agent and their docs, and no tests, benchmarks, sources or fixtures', () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['bin/nodepulse', 'dist/cli/main.js', 'dist/nodepulse-agent.mjs', 'README.md', 'package.json']));
    expect(packedFiles).toEqual(expect.arrayContaining(['systemd/nodepulse-agent.service', 'config/agent.example.yaml']));
    const stray = packedFiles.filter((path) => /^(src|test|bench|scripts|test-results|data)\/|\.map$|\.test\.|fixture/.test(path));
    expect(stray).toEqual([]);
  });

  it('installs without a C compiler and answers --help from the compiled JavaScript', () => {
    const cli = join(prefix, 'node_modules', '.bin', 'nodepulse');
    const help = run(cli, ['--help'], { path: bareBin });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/nodepulse coordinator +Run the coordinator/);
    expect(help.stderr).toBe('');
  });

  it('a coordinator on a SQLite store without the driver names the fix in one line and exits 69', () => {
    const cli = join(prefix, 'node_modules', '.bin', 'nodepulse');
    const serve = run(cli, ['coordinator', 'serve', '--port', '0', '--store', join(work, 'nodepulse.db')], { path: bareBin });
    expect(serve.status).toBe(69);
    const lines = serve.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^nodepulse: the SQLite store .* needs the better-sqlite3 driver/);
    expect(lines[0]).toContain('install build tools');
    expect(lines[0]).toContain('postgres://');
  });
});
