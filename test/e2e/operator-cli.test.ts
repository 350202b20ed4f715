import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractProblems } from '../helpers/contracts.ts';
import { type CoordinatorProcess, E2E_ADMIN, E2E_ENROLL, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { cleanupAll, spawnNodepulse, waitFor } from '../helpers/spawn-process.ts';
import { api, cli, runNodepulse, tableRows } from './operator-cli-helpers.ts';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const STATUS_KEYS = ['all_healthy', 'api_status', 'compiler_status', 'id', 'recorded_at', 'runner_status'];
const INFO_KEYS = ['api_resources_info', 'api_self_info', 'compiler_resources_info', 'compiler_self_info', 'runner_resources_info', 'runner_self_info'];

/** The operator commands, each run as a real `nodepulse` process against a real coordinator. */
describe('operator CLI against a running coordinator', () => {
  let coordinator: CoordinatorProcess;
  let active: { nodeId: string };
  let stopped: { nodeId: string };

  beforeAll(async () => {
    // Monitor checks every second, so the first event comes at once.
    coordinator = await startCoordinatorProcess({ env: { NODEPULSE_MONITOR_SCHEDULE: '* * * * * *' } });
    const register = async (hostname: string) => {
      const response = await coordinator.post('cluster_RegisterNode', E2E_ENROLL, { name: hostname, hostname, labels: { region: 'lab-1' } });
      expect(response.status).toBe(200);
      return response.body as { nodeId: string; nodeToken: string };
    };
    active = await register('web-1');
    const leaving = await register('web-2');
    expect((await coordinator.post('cluster_DeregisterNode', leaving.nodeToken)).status).toBe(200);
    stopped = leaving;
  });
  afterAll(cleanupAll);

  it('nodes list shows the Active nodes; --all adds the Terminated ones; --json gives seed 000’s ClusterNode', async () => {
    const activeRows = tableRows(await cli(coordinator, ['nodes', 'list']));
    expect(activeRows.map((row) => [row.nodeid, row.name, row.status])).toEqual([[active.nodeId, 'web-1', 'Active']]);
    expect(activeRows[0]!.joinedat).toMatch(RFC3339);

    const allRows = tableRows(await cli(coordinator, ['nodes', 'list', '--all']));
    expect(allRows.map((row) => row.nodeid).sort()).toEqual([active.nodeId, stopped.nodeId].sort());
    expect(allRows.find((row) => row.nodeid === stopped.nodeId)).toMatchObject({ name: 'web-2', status: 'Terminated', terminationreason: 'Shutdown' });

    const nodes = JSON.parse(await cli(coordinator, ['nodes', 'list', '--all', '--json'])) as { nodeId: string }[];
    expect(nodes.map((node) => node.nodeId).sort()).toEqual([active.nodeId, stopped.nodeId].sort());
    for (const node of nodes) expect(contractProblems('nexigon', 'nexigon_api.cluster.ClusterNode', node)).toEqual([]);
  });

  it('instances show prints every field of the instance as a two-column table, and the record with --json', async () => {
    const [instance] = (await api(coordinator, 'GET', '/api/v2/instances/?hostname=web-1')).body.results;
    const rows = tableRows(await cli(coordinator, ['instances', 'show', String(instance.id)]));
    expect(rows.map((row) => row.field)).toEqual(Object.keys(instance));
    const shown = Object.fromEntries(rows.map((row) => [row.field, row.value]));
    expect(shown).toMatchObject({ id: String(instance.id), hostname: 'web-1', node_state: 'ready', uuid: instance.uuid, related: JSON.stringify(instance.related) });

    const record = JSON.parse(await cli(coordinator, ['instances', 'show', String(instance.id), '--json']));
    expect(record).toEqual(instance);
  });

  it('instances show ends quietly with exit 0 when its reader goes away, like `| head`', async () => {
    const [instance] = (await api(coordinator, 'GET', '/api/v2/instances/?hostname=web-1')).body.results;
    const proc = spawnNodepulse(['instances', 'show', String(instance.id), '--coordinator', coordinator.url], { env: { NODEPULSE_API_TOKEN: E2E_ADMIN } });
    // The reader is gone before the command writes: its first write fails with EPIPE.
    proc.child.stdout?.destroy();
    const exit = await proc.waitForExit(30_000);
    expect(proc.stderrLines.join('\n')).toBe('');
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('clusters create sets the provider and regions, prints seed 001’s cluster, refuses a bare --region; clusters list shows it', { timeout: 180_000 }, async () => {
    const created = await runNodepulse(['clusters', 'create', 'edge', '--provider', 'aws', '--region', 'eu-west-1', '--region', 'eu-central-1', '--store', coordinator.storePath]);
    expect(created.exit.code).toBe(0);
    expect(created.stdout).toMatch(/^cluster edge \(id \d+\): provider aws, regions eu-central-1, eu-west-1$/);
    expect(created.stderr).toBe(`nodepulse: store ${coordinator.storePath}`);

    // The spelling of 0.1 still works, with a note naming the new one.
    const again = await runNodepulse(['cluster', 'create', 'edge', '--provider', 'aws', '--store', coordinator.storePath, '--json']);
    expect(again.stderr).toContain('nodepulse: warning: `cluster` is now `clusters`');
    expect(again.exit.code).toBe(0);
    const edge = JSON.parse(again.stdout);
    expect(edge).toEqual({
      monitored_at: expect.stringMatching(RFC3339),
      id: expect.stringMatching(/^\d+$/),
      name: 'edge',
      provider: 'aws',
      regions: ['eu-central-1', 'eu-west-1'],
      nodes_count: 0,
      running_nodes_count: 0,
      failed_nodes_count: 0,
      failed_to_install_nodes_count: 0,
      disabled_nodes_count: 0,
    });

    const bare = await runNodepulse(['clusters', 'create', 'edge', '--region', '--store', coordinator.storePath]);
    expect(bare.exit.code).not.toBe(0);
    expect(bare.stderr).toMatch(/--region needs a value/);

    const rows = tableRows(await cli(coordinator, ['clusters', 'list']));
    expect(rows.find((row) => row.name === 'edge')).toMatchObject({ id: edge.id, provider: 'aws', regions: 'eu-central-1,eu-west-1', nodes_count: '0' });
    expect(rows.find((row) => row.name === 'default')).toMatchObject({ regions: 'lab-1', nodes_count: '2', running_nodes_count: '1' });

    const clusters = JSON.parse(await cli(coordinator, ['clusters', 'list', '--json'])) as Record<string, unknown>[];
    const listed = clusters.find((cluster) => cluster.name === 'edge');
    expect(listed).toMatchObject({ ...edge, controller_status: 'running' });
  });

  it('events list shows the retained events newest first; events show [latest] shows one with its six *_info fields', async () => {
    await waitFor(async () => (await api(coordinator, 'GET', '/v0/cluster/events')).body.length > 0, 30_000, { message: 'the first monitor event' });
    const rows = tableRows(await cli(coordinator, ['events', 'list']));
    const retained = (await api(coordinator, 'GET', '/v0/cluster/events')).body.map((event: { id: string }) => event.id);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(retained).toContain(row.id);
    const times = rows.map((row) => row.recorded_at!);
    expect([...times].sort().reverse()).toEqual(times);
    expect(Object.keys(rows[0]!).sort()).toEqual(STATUS_KEYS);

    const listed = JSON.parse(await cli(coordinator, ['events', 'list', '--json'])) as Record<string, unknown>[];
    for (const event of listed) expect(Object.keys(event).sort()).toEqual(STATUS_KEYS);

    const id = rows[0]!.id!;
    const one = Object.fromEntries(tableRows(await cli(coordinator, ['events', 'show', id])).map((row) => [row.field, row.value]));
    expect(Object.keys(one).sort()).toEqual([...STATUS_KEYS, ...INFO_KEYS].sort());
    expect(one.id).toBe(id);

    const latest = JSON.parse(await cli(coordinator, ['events', 'show', 'latest', '--json']));
    expect(Object.keys(latest).sort()).toEqual([...STATUS_KEYS, ...INFO_KEYS].sort());
    expect(contractProblems('feldera', 'ClusterMonitorEventSelectedInfo', latest)).toEqual([]);
    const byDefault = Object.fromEntries(tableRows(await cli(coordinator, ['events', 'show'])).map((row) => [row.field, row.value]));
    expect(byDefault.recorded_at! >= latest.recorded_at).toBe(true);
  });
  // Seven `nodepulse` processes one after another: seconds each on a loaded machine.
  it('instances create, update and delete a host through the API, by hostname or id, with --json output', { timeout: 180_000 }, async () => {
    const created = JSON.parse(
      await cli(coordinator, ['instances', 'create', 'db-7', '--node-type', 'hybrid', '--capacity-adjustment', '0.5', '--listener-port', '27199', '--peer', 'web-1', '--json']),
    ) as Record<string, unknown>;
    expect(created).toMatchObject({ hostname: 'db-7', node_type: 'hybrid', capacity_adjustment: '0.50', listener_port: 27199, peers: ['web-1'], enabled: true });
    expect((await api(coordinator, 'GET', `/api/v2/instances/${String(created.id)}/`)).body).toMatchObject({ hostname: 'db-7', node_type: 'hybrid' });

    const updated = JSON.parse(await cli(coordinator, ['instances', 'update', 'db-7', '--no-enabled', '--hostname', 'db-8', '--json'])) as Record<string, unknown>;
    expect(updated).toMatchObject({ id: created.id, hostname: 'db-8', enabled: false, node_type: 'hybrid', listener_port: 27199 });
    const nothing = await runNodepulse(['instances', 'update', 'db-8', '--coordinator', coordinator.url]);
    expect(nothing.exit.code).toBe(1);
    expect(nothing.stderr).toContain('nothing to change');

    expect(await cli(coordinator, ['instances', 'delete', String(created.id)])).toBe(`deleted instance ${String(created.id)}`);
    expect((await api(coordinator, 'GET', `/api/v2/instances/${String(created.id)}/`)).status).toBe(404);
    const gone = await runNodepulse(['instances', 'delete', 'db-8', '--coordinator', coordinator.url]);
    expect(gone.exit.code).toBe(1);
    expect(gone.stderr).toContain('no instance has hostname db-8');

    // An instance whose agent is registered (an Active node, fresh: the suite's first nodes may have timed out by now) is refused, and the CLI says why.
    expect((await coordinator.post('cluster_RegisterNode', E2E_ENROLL, { name: 'db-9', hostname: 'db-9' })).status).toBe(200);
    const busy = await runNodepulse(['instances', 'delete', 'db-9', '--coordinator', coordinator.url]);
    expect(busy.exit.code).toBe(1);
    expect(busy.stderr).toMatch(/409 InstanceHasActiveNode/);
  });

  it('reads the token and URL under their old names (NODEPULSE_TOKEN, NODEPULSE_COORDINATOR_URL) with a warning naming the new ones', async () => {
    const proc = spawnNodepulse(['nodes', 'list', '--all', '--json'], { env: { NODEPULSE_TOKEN: E2E_ADMIN, NODEPULSE_COORDINATOR_URL: coordinator.url } });
    expect((await proc.waitForExit(30_000)).code).toBe(0);
    expect((JSON.parse(proc.stdoutLines.join('\n')) as unknown[]).length).toBeGreaterThan(0);
    expect(proc.stderrLines).toEqual([
      'nodepulse: warning: NODEPULSE_TOKEN is renamed NODEPULSE_API_TOKEN; the old name is still read in this release (rename it)',
      'nodepulse: warning: NODEPULSE_COORDINATOR_URL is renamed NODEPULSE_COORDINATOR; the old name is still read in this release (rename it)',
    ]);
    expect(proc.stderrLines.join('\n')).not.toContain(E2E_ADMIN);

    const current = spawnNodepulse(['nodes', 'list'], { env: { NODEPULSE_API_TOKEN: E2E_ADMIN, NODEPULSE_COORDINATOR: coordinator.url } });
    expect((await current.waitForExit(30_000)).code).toBe(0);
    expect(current.stderrLines).toEqual([]);
  });

  it('names an unknown command or action in one line and exits 2; a resource alone lists its actions', async () => {
    const top = await runNodepulse(['instance', 'list']);
    expect(top.exit.code).toBe(2);
    expect(top.stderr).toBe('nodepulse: unknown command "instance": `nodepulse --help` lists the commands');

    const action = await runNodepulse(['instances', 'lst']);
    expect(action.exit.code).toBe(2);
    expect(action.stderr).toBe('nodepulse: unknown command "lst": `nodepulse instances --help` lists the commands');

    const bare = await runNodepulse(['instances']);
    expect(bare.exit.code).toBe(2);
    expect(bare.stderr).toContain('Name an action: list, show, create, update, delete, history, health-check');
  });
});
