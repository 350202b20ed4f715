import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { E2E_ENROLL, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, makeTempDir, spawnNodepulse, waitFor } from '../helpers/spawn-process.ts';
import { FAST, registeredNodeIds, startAgent, waitForRegistration } from './agent-helpers.ts';

afterEach(cleanupAll);

function configFile(lines: string[]): string {
  const path = join(makeTempDir(), 'agent.yaml');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('nodepulse agent commands', () => {
  it('`agent facts` prints the facts and AWX capacity as JSON and exits 0', async () => {
    const proc = spawnNodepulse(['agent', 'facts']);
    expect(await proc.waitForExit(60_000)).toEqual({ code: 0, signal: null });
    const out = JSON.parse(proc.stdoutLines.join('\n')) as { facts: any; capacity: any; collectionMs: number };
    expect(out.facts.cpu.cpus).toBeGreaterThan(0);
    expect(out.facts.memory.totalBytes).toBeGreaterThan(0);
    expect(out.capacity.cpuCapacity).toBe(Math.max(1, Math.floor(out.facts.cpu.cpus * 4)));
    expect(out.collectionMs).toBeGreaterThan(0);
  });

  it('`agent check` exits 2 when a check is critical and 0 when all pass', async () => {
    const failing = configFile(['checks:', '  - {name: bad, type: command, command: [sh, -c, "echo broken; exit 5"]}']);
    const bad = spawnNodepulse(['agent', 'check', '--config', failing]);
    expect((await bad.waitForExit(60_000)).code).toBe(2);
    expect(JSON.parse(bad.stdoutLines.join('\n'))).toEqual({ status: 'critical', checks: [{ name: 'bad', status: 'critical', output: 'broken' }] });

    const passing = configFile(['checks:', '  - {name: ok, type: command, command: ["true"]}', '  - {name: root, type: disk, path: /, minFreePercent: 0, warnFreePercent: 0}']);
    const good = spawnNodepulse(['agent', 'check', '--config', passing]);
    expect((await good.waitForExit(60_000)).code).toBe(0);
  });

  it('exits 78 naming the bad key when the config is wrong', async () => {
    const file = configFile(['heartbeatInterval: soon', 'colour: blue']);
    const proc = spawnNodepulse(['agent', 'run', '--config', file], { env: { NODEPULSE_ENROLL_TOKEN: 'x', NODEPULSE_COORDINATOR: 'http://127.0.0.1:1' } });
    expect((await proc.waitForExit(60_000)).code).toBe(78);
    expect(proc.output()).toMatch(/heartbeatInterval/);
    expect(proc.output()).toMatch(/colour: unknown key/);
  });

  it('names an unknown NODEPULSE_* variable in one warning and runs on', async () => {
    const env = { NODEPULSE_ENROLL_TOKEN: 'x', NODEPULSE_COORDINATOR: 'http://127.0.0.1:1', NODEPULSE_HEARTBEAT_INTERVL: '5' };
    const proc = spawnNodepulse(['agent', 'run', '--state-dir', makeTempDir()], { env });
    // Its signal handlers are in place once it says it is starting.
    await proc.waitForLine(/"agent starting"/, 60_000);
    const warning = JSON.parse(await proc.waitForLine(/unknown NODEPULSE_/, 1_000)) as Record<string, unknown>;
    expect(warning).toMatchObject({ level: 'warn', variables: ['NODEPULSE_HEARTBEAT_INTERVL'] });
    proc.kill('SIGTERM');
    expect(await proc.waitForExit(30_000)).toEqual({ code: 0, signal: null });
  });

  it('still registers with the enrollment token under its old name NODEPULSE_TOKEN, warning once with the new name and never the value', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const { proc } = startAgent(coordinator.url, { env: { NODEPULSE_ENROLL_TOKEN: '', NODEPULSE_TOKEN: E2E_ENROLL } });
    await waitForRegistration(proc);
    const warnings = proc.stderrLines.filter((line) => line.includes('NODEPULSE_TOKEN'));
    expect(warnings).toEqual(['nodepulse: warning: NODEPULSE_TOKEN is renamed NODEPULSE_ENROLL_TOKEN; the old name is still read in this release (rename it)']);
    expect(proc.output()).not.toContain(E2E_ENROLL);
    // Known (if old), so not also reported as a misspelling.
    expect(proc.output()).not.toMatch(/unknown NODEPULSE_/);
  });

  it('names the missing enrollment token by its new names', async () => {
    const proc = spawnNodepulse(['agent', 'run', '--state-dir', makeTempDir()], { env: { NODEPULSE_COORDINATOR: 'http://127.0.0.1:1' } });
    expect((await proc.waitForExit(60_000)).code).toBe(78);
    expect(proc.output()).toContain('token: required (NODEPULSE_ENROLL_TOKEN, NODEPULSE_ENROLL_TOKEN_FILE, --token-file or --token)');
  });

  it('names an unknown agent action in one line (exit 2)', async () => {
    const proc = spawnNodepulse(['agent', 'runn']);
    expect((await proc.waitForExit(60_000)).code).toBe(2);
    expect(proc.stderrLines).toEqual(['nodepulse: unknown command "runn": `nodepulse agent --help` lists the commands']);
  });

  it('exits 78 naming caFile when the CA bundle does not exist', async () => {
    const missing = join(makeTempDir(), 'nonexistent-ca.pem');
    const proc = spawnNodepulse(['agent', 'run', '--ca-file', missing], { env: { NODEPULSE_ENROLL_TOKEN: 'x', NODEPULSE_COORDINATOR: 'https://127.0.0.1:1' } });
    expect((await proc.waitForExit(60_000)).code).toBe(78);
    expect(proc.output()).toContain(`caFile: cannot read ${missing}: ENOENT`);
    expect(proc.output()).not.toMatch(/at .*coordinator-client/);
  });

  it('reloads checks on SIGHUP without registering again, and never logs a token at debug level', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const file = configFile(['labels: {zone: a}']);
    const { proc } = startAgent(coordinator.url, { args: ['--config', file] });
    await waitForRegistration(proc);
    writeFileSync(file, ['labels: {zone: b}', 'checks:', '  - {name: added-by-reload, type: command, command: [sh, -c, "exit 1"]}', ''].join('\n'));
    proc.kill('SIGHUP');
    await proc.waitForLine(/"check":"added-by-reload".*"status":"warning"/, 20_000);
    await waitFor(() => proc.stdoutLines.some((l) => l.includes('"heartbeat accepted"') && l.includes('"health":"warning"')), 15_000);
    expect(registeredNodeIds(proc)).toHaveLength(1);
    expect(proc.output()).toMatch(/configuration reloaded/);
    expect(proc.output()).not.toContain(E2E_ENROLL);
    expect(proc.output()).not.toMatch(/nodeToken|Bearer [^[]/);
  });
});
