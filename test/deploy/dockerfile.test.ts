/**
 * The Dockerfile without a container engine: its two targets are read as Docker reads them
 * (test/deploy/dockerfile.ts); `npm run build`'s two steps fill a directory laid out as each
 * image's root by its COPY lines; the coordinator's entry point runs there as PID 1 with the
 * image's environment, its HEALTHCHECK asks it, and SIGTERM stops it. The agent's entry point as
 * PID 1 is test/e2e/agent-pid1.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, join, posix, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN, E2E_ENROLL } from '../helpers/coordinator-process.ts';
import { REPO_ROOT, cleanupAll, freePort, makeTempDir, waitFor } from '../helpers/spawn-process.ts';
import { containerPid, runHealthcheck, startContainer } from './container-run.ts';
import { type Stage, dockerStage, nodeCommand, numericUser, readDockerfile } from './dockerfile.ts';
import { COORDINATOR_DEFAULTS, unknownEnv, unknownFlags } from './known-names.ts';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  dependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
};
const stages = readDockerfile();
const agent = dockerStage('agent', stages);
const coordinator = dockerStage('coordinator', stages);
const build = dockerStage('build', stages);

function run(args: string[], cwd = REPO_ROOT) {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 50_000, env: { PATH: process.env.PATH } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the Dockerfile', () => {
  it('builds two images, agent and coordinator, on a slim Node.js 20, copying only from the build stage', () => {
    for (const stage of [agent, coordinator]) {
      expect(dockerStage(stage.base, stages).base).toMatch(/^node:20(\.\d+)*-[a-z]+-slim$/);
      expect(stage.copies.length).toBeGreaterThan(0);
      expect(stage.copies.every((copy) => copy.from === 'build')).toBe(true);
    }
    expect(build.runs.some((command) => /\bnpm run build\b/.test(command))).toBe(true);
  });

  it('starts node itself as PID 1 of both (no shell or npm in between to swallow SIGTERM)', () => {
    expect(nodeCommand(agent).args).toEqual(['agent', 'run']);
    expect(nodeCommand(coordinator).args).toEqual(['coordinator', 'serve']);
    for (const stage of [agent, coordinator]) expect(stage.stopSignal).toBe('SIGTERM');
  });

  it('runs both as a numeric non-root user that owns the volume it writes', () => {
    for (const stage of [agent, coordinator]) {
      const { uid, gid } = numericUser(stage);
      expect(uid).not.toBe(0);
      expect(stage.volumes).toHaveLength(1);
      expect(stage.runs.some((command) => command.includes(`chown ${uid}:${gid} ${stage.volumes[0]}`))).toBe(true);
    }
  });

  it('puts only the one-file agent in the agent image: no node_modules', () => {
    expect(agent.copies).toEqual([{ from: 'build', sources: [posix.join(build.workdir, 'dist/nodepulse-agent.mjs')], dest: nodeCommand(agent).script }]);
  });

  it('keeps the coordinator store on its volume, listening on every address of the container', () => {
    expect(coordinator.env.NODEPULSE_HOST).toBe('0.0.0.0');
    expect(coordinator.expose).toEqual([coordinator.env.NODEPULSE_PORT]);
    // The default store, relative to the working directory, lands on the volume; NODEPULSE_STORE
    // stays unset, as it would win over a NODEPULSE_STORE_URL given for PostgreSQL.
    expect(coordinator.env.NODEPULSE_STORE).toBeUndefined();
    expect(posix.resolve(coordinator.workdir, COORDINATOR_DEFAULTS.store).startsWith(`${coordinator.volumes[0]}/`)).toBe(true);
  });

  it('labels both images with the OCI annotations, the version and licence of package.json', () => {
    for (const stage of [agent, coordinator]) {
      expect(stage.labels).toMatchObject({
        'org.opencontainers.image.title': `nodepulse-${stage.name}`,
        'org.opencontainers.image.version': pkg.version,
        'org.opencontainers.image.licenses': pkg.license,
      });
      for (const key of ['description', 'source', 'revision']) expect(stage.labels).toHaveProperty([`org.opencontainers.image.${key}`]);
    }
  });

  it('names only NODEPULSE_* variables and flags that the daemons read', () => {
    expect(unknownEnv('agent', Object.keys(agent.env))).toEqual([]);
    expect(unknownEnv('coordinator', Object.keys(coordinator.env))).toEqual([]);
    expect(unknownFlags('agent', nodeCommand(agent).args)).toEqual([]);
    expect(unknownFlags('coordinator', nodeCommand(coordinator).args)).toEqual([]);
    // The agent's healthcheck asks the status endpoint the image turns on, on loopback (it answers without a token).
    expect(agent.env.NODEPULSE_STATUS_LISTEN).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(agent.healthcheck?.command.join(' ')).toContain("process.env.NODEPULSE_STATUS_LISTEN + '/healthz'");
    expect(coordinator.healthcheck?.command.join(' ')).toMatch(/process\.env\.NODEPULSE_PORT.*'\/readyz'/);
  });
});

describe('the images laid out from a build', () => {
  const buildRoot = makeTempDir('nodepulse-image-build-');
  const roots = new Map<Stage, string>([
    [agent, makeTempDir('nodepulse-agent-image-')],
    [coordinator, makeTempDir('nodepulse-coordinator-image-')],
  ]);
  const rootOf = (stage: Stage) => roots.get(stage)!;

  beforeAll(() => {
    // `npm run build`'s two steps, into a directory standing for the build stage's WORKDIR.
    const tsc = run([join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(buildRoot, 'dist')]);
    expect(tsc.stdout + tsc.stderr).toBe('');
    const bundle = run(['scripts/bundle.mjs', '--outfile', join(buildRoot, 'dist', 'nodepulse-agent.mjs')]);
    expect(bundle).toMatchObject({ status: 0, stderr: '' });
    copyFileSync(join(REPO_ROOT, 'package.json'), join(buildRoot, 'package.json'));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(buildRoot, 'node_modules'));
    // Each COPY --from=build into the image's root (node_modules as a link: too big to copy).
    for (const [stage, root] of roots) {
      for (const copy of stage.copies) {
        expect(copy.sources).toHaveLength(1);
        const source = join(buildRoot, posix.relative(build.workdir, copy.sources[0]!));
        const target = join(root, copy.dest);
        mkdirSync(dirname(target), { recursive: true });
        if (basename(source) === 'node_modules') symlinkSync(source, target);
        else cpSync(source, target, { recursive: true });
      }
      mkdirSync(join(root, stage.workdir), { recursive: true });
    }
  }, 180_000);

  afterAll(cleanupAll);

  it('holds the file each entry point runs, and each answers --version there', () => {
    for (const [stage, root] of roots) {
      const { nodeArgs, script } = nodeCommand(stage);
      expect(statSync(join(root, script)).isFile()).toBe(true);
      expect(run([...nodeArgs, join(root, script), '--version'], join(root, stage.workdir))).toMatchObject({ status: 0, stdout: `${pkg.version}\n`, stderr: '' });
    }
  });

  it('needs nothing at run time beyond the production dependencies the coordinator image keeps', () => {
    const allowed = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies), ...builtinModules]);
    const strays: string[] = [];
    const seen = new Set<string>();
    const visit = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) visit(path);
        if (!entry.name.endsWith('.js')) continue;
        // import/export ... from 'x' and import 'x' at a line's start (tsc keeps comments: none of those), import('x') anywhere.
        for (const match of readFileSync(path, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
          const specifier = (match[1] ?? match[2] ?? match[3])!;
          if (specifier.startsWith('.')) continue;
          const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
          seen.add(name);
          if (!specifier.startsWith('node:') && !allowed.has(name)) strays.push(`${specifier} in ${relative(buildRoot, path)}`);
        }
      }
    };
    visit(join(buildRoot, 'dist'));
    expect(seen).toContain('fastify');
    expect(strays).toEqual([]);
  });

  it('runs the coordinator as its image starts it: ready on its HEALTHCHECK, the store on the volume, exit 0 on SIGTERM as PID 1', async () => {
    const root = rootOf(coordinator);
    const port = await freePort();
    // As `docker run -e`: tokens, and loopback instead of every address (tests listen on 127.0.0.1 only).
    const env = { NODEPULSE_HOST: '127.0.0.1', NODEPULSE_PORT: String(port), NODEPULSE_ADMIN_TOKEN: E2E_ADMIN, NODEPULSE_ENROLL_TOKEN: E2E_ENROLL };
    const container = startContainer(coordinator, root, env);
    await container.waitForLine(/"listening"/, 45_000);
    const pid = await containerPid(container);
    await waitFor(async () => (await runHealthcheck(coordinator, env)) === 0, 20_000, { message: 'a healthy coordinator' });
    expect(existsSync(join(root, posix.resolve(coordinator.workdir, COORDINATOR_DEFAULTS.store)))).toBe(true);

    process.kill(pid, 'SIGTERM');
    expect(await container.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    expect(container.output()).toMatch(/"stopped"/);
    expect(await runHealthcheck(coordinator, env)).toBe(1);
  }, 120_000);
});
