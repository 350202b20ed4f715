#!/usr/bin/env node
/**
 * `npm run release`: writes release/nodepulse-<version>-linux.tar.gz, what a host installs with
 * `sudo ./install.sh agent|coordinator` (packaging/install.sh) and nothing but Node.js:
 *
 *   nodepulse-<version>/
 *     install.sh                      the installer (--help)
 *     release.json                    version, and the Node.js and CPU the SQLite driver was built for
 *     package.json                    the production manifest ("type": "module", dependencies; no scripts)
 *     dist/                           tsc's build of src/ and its other files (dist/cli/main.js, the coordinator's command)
 *     dist/nodepulse-agent.mjs        the one-file agent (scripts/bundle.mjs)
 *     node_modules/                   the production dependencies, better-sqlite3 as built here
 *     bin/nodepulse                   the CLI (runs dist/: there is no src/ beside it)
 *     config/*.example.yaml, systemd/ (units, *.env.example), README.md, docs/
 *
 * Both builds go to a fresh directory, so a dist/ holding files of deleted sources never ships.
 * node_modules is copied from this checkout's, following package-lock.json without the dev tree:
 * better-sqlite3 (a native, optional dependency) is the build compiled or downloaded by `npm ci`
 * here, so it loads on hosts with the same Node.js major and CPU architecture and needs no
 * compiler there; install.sh checks that it loads and names the fixes when it does not.
 *
 *   node scripts/release.mjs [--out-dir release]
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

const REPO = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: 'release' } } });
const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const name = `nodepulse-${manifest.version}`;
const outDir = resolve(REPO, values['out-dir']);
const tarball = join(outDir, `${name}-linux.tar.gz`);

/** Runs a build step; its output is shown, and a failure stops the release with that step's name. */
function run(step, command, args) {
  const result = spawnSync(command, args, { cwd: REPO, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${step} failed (${result.error?.message ?? `exit ${result.status}`})`);
}

/**
 * The production packages of package-lock.json, as paths under node_modules/: every entry not in
 * the dev tree (optional ones included), nested ones (a/node_modules/b) as their own entries.
 */
function productionPackages() {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8'));
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev && !entry.link)
    .map(([path, entry]) => ({ path, optional: Boolean(entry.optional) }));
}

/**
 * What a host needs of a package: no nested node_modules (listed separately), no .bin links, and
 * of a node-gyp build only the addon itself (build/Release/*.node), not the 17 MiB of objects
 * and makefiles beside it. Sources a rebuild needs (binding.gyp, src/, deps/) stay.
 */
function keepInPackage(packageDir) {
  const build = join(packageDir, 'build');
  const nodeGyp = existsSync(join(packageDir, 'binding.gyp'));
  return (source) => {
    const inside = relative(packageDir, source);
    if (inside === '') return true;
    const parts = inside.split(sep);
    if (parts.includes('node_modules') || parts.includes('.bin')) return false;
    if (!nodeGyp || source === build || source === join(build, 'Release')) return true;
    if (source.startsWith(build + sep)) return dirname(source) === join(build, 'Release') && source.endsWith('.node') && !source.endsWith('test_extension.node');
    return true;
  };
}

function copyProductionModules(stage) {
  let copied = 0;
  for (const { path, optional } of productionPackages()) {
    const source = join(REPO, path);
    if (!existsSync(source)) {
      // An optional package that did not install here (no compiler, another platform) is left out.
      if (optional) continue;
      throw new Error(`${path} is a production dependency but is not installed: run npm ci first`);
    }
    cpSync(source, join(stage, path), { recursive: true, filter: keepInPackage(source) });
    copied += 1;
  }
  return copied;
}

/** The manifest a host's npm reads (`npm rebuild better-sqlite3` in /opt/nodepulse): no scripts, no dev tree. */
function productionManifest() {
  const { name: pkg, version, description, type, license, engines, bin, dependencies, optionalDependencies } = manifest;
  return { name: pkg, version, description, type, license, engines, bin, dependencies, optionalDependencies };
}

/**
 * Files of src/ that tsc does not emit (the web page's static files beside src/coordinator/ui/),
 * copied to the same place under dist/, where the compiled modules read them.
 */
function copyAssets(dir, dist) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copyAssets(path, dist);
    else if (!entry.name.endsWith('.ts')) cpSync(path, join(dist, relative(join(REPO, 'src'), path)));
  }
}

function removeSourceMaps(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removeSourceMaps(path);
    else if (entry.name.endsWith('.map')) rmSync(path);
  }
}

const work = mkdtempSync(join(tmpdir(), 'nodepulse-release-'));
try {
  const stage = join(work, name);
  mkdirSync(stage);
  run('tsc', process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(stage, 'dist')]);
  removeSourceMaps(join(stage, 'dist'));
  copyAssets(join(REPO, 'src'), join(stage, 'dist'));
  run('the agent bundle', process.execPath, [join(REPO, 'scripts', 'bundle.mjs'), '--outfile', join(stage, 'dist', 'nodepulse-agent.mjs')]);

  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(productionManifest(), null, 2)}\n`);
  const packages = copyProductionModules(stage);
  for (const path of ['bin/nodepulse', 'README.md', 'docs', 'config/agent.example.yaml', 'config/coordinator.example.yaml', 'systemd']) {
    cpSync(join(REPO, path), join(stage, path), { recursive: true });
  }
  cpSync(join(REPO, 'packaging', 'install.sh'), join(stage, 'install.sh'));
  chmodSync(join(stage, 'install.sh'), 0o755);
  chmodSync(join(stage, 'bin', 'nodepulse'), 0o755);
  const driverBuilt = existsSync(join(stage, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));
  const release = {
    version: manifest.version,
    // The native SQLite driver loads only under a Node.js of this ABI (process.versions.modules) on this platform and CPU.
    sqliteDriver: driverBuilt ? { node: process.versions.node, abi: process.versions.modules, platform: process.platform, arch: process.arch } : null,
  };
  writeFileSync(join(stage, 'release.json'), `${JSON.stringify(release, null, 2)}\n`);

  mkdirSync(outDir, { recursive: true });
  run('tar', 'tar', ['-czf', tarball, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-C', work, name]);
  const mib = (statSync(tarball).size / 1024 / 1024).toFixed(1);
  const driver = driverBuilt ? `its SQLite driver built for Node.js ${process.versions.node.split('.')[0]} (ABI ${process.versions.modules}) on ${process.platform}-${process.arch}` : 'without the SQLite driver (better-sqlite3 is not built here): a coordinator needs a postgres:// store';
  process.stdout.write(`${relative(REPO, tarball)}: ${mib} MiB, ${packages} production packages, ${driver}\n`);
} catch (error) {
  process.stderr.write(`release: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
