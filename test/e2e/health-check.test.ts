import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, makeTempDir, waitFor } from '../helpers/spawn-process.ts';
import { FAST, startAgent, waitForRegistration } from './agent-helpers.ts';
import { api, cli } from './operator-cli-helpers.ts';

afterEach(cleanupAll);

describe('health check round trip with a real agent', () => {
  it('an admin request reaches the agent, whose report sets last_health_check and errors and clears pending', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST });
    const dir = makeTempDir();
    const marker = join(dir, 'service-ok');
    const configFile = join(dir, 'agent.yaml');
    writeFileSync(
      configFile,
      ['checks:', '  - name: service', '    type: command', `    command: ['sh', '-c', 'test -f ${marker} || { echo service is down; exit 2; }']`, '    interval: 3600', ''].join('\n'),
    );
    // Pre-created by an admin with the CLI: the agent claims it by hostname.
    const created = JSON.parse(await cli(coordinator, ['instances', 'create', hostname(), '--json'])) as { id: number; node_state: string };
    expect(created.node_state).toBe('installed');
    const url = `/api/v2/instances/${created.id}/`;
    const { proc } = startAgent(coordinator.url, { args: ['--config', configFile] });
    await waitForRegistration(proc);
    // The agent claimed the instance and reported its start-up run of the checks; only requested runs follow (interval 3600 s).
    await waitFor(async () => (await api(coordinator, 'GET', url)).body.last_health_check !== null, 15_000, { message: 'the start-up health report' });

    const request = async () => {
      expect(await cli(coordinator, ['instances', 'health-check', String(created.id)])).toMatch(/^Health check (is running|already in progress) for /);
      return (await api(coordinator, 'GET', url)).body.health_check_started as string;
    };

    const firstStart = await request();
    const failed = await waitFor(async () => {
      const view = (await api(coordinator, 'GET', url)).body;
      return !view.health_check_pending && view.last_health_check >= firstStart ? view : undefined;
    }, 20_000, { message: 'the first requested check reported' });
    expect(failed.errors).toMatch(/service: critical: service is down/);
    expect(failed.node_state).toBe('unavailable');

    writeFileSync(marker, 'ok');
    const secondStart = await request();
    expect(secondStart > firstStart).toBe(true);
    const recovered = await waitFor(async () => {
      const view = (await api(coordinator, 'GET', url)).body;
      return !view.health_check_pending && view.last_health_check >= secondStart && view.errors === '' ? view : undefined;
    }, 20_000, { message: 'the second requested check reported a pass' });
    expect(recovered).toMatchObject({ errors: '', node_state: 'ready' });
    expect(await cli(coordinator, ['instances', 'list'])).toMatch(new RegExp(`${created.id}\\s+${hostname()}\\s+ready`));
    const health = (await api(coordinator, 'GET', `${url}health_check/`)).body;
    expect(health).toMatchObject({ errors: '', hostname: recovered.hostname });
    expect(health.last_health_check >= recovered.last_health_check).toBe(true);
    expect(health.memory).toBeGreaterThan(0);
  });

  it('records an error when no agent answers within healthCheckTimeoutSecs', async () => {
    const coordinator = await startCoordinatorProcess({ args: FAST, env: { NODEPULSE_HEALTH_CHECK_TIMEOUT_SECS: '5' } });
    const created = await api(coordinator, 'POST', '/api/v2/instances/', { hostname: 'never-installed' });
    const url = `/api/v2/instances/${created.body.id}/`;
    expect((await api(coordinator, 'POST', `${url}health_check/`)).body.msg).toBe('Health check is running for never-installed.');
    expect((await api(coordinator, 'POST', `${url}health_check/`)).body.msg).toBe('Health check already in progress for never-installed.');
    const timedOut = await waitFor(async () => {
      const view = (await api(coordinator, 'GET', url)).body;
      return view.health_check_pending ? undefined : view;
    }, 30_000, { message: 'the pending check timed out' });
    expect(timedOut.errors).toMatch(/timed out/);
  });
});
