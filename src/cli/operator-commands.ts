import type { Argv, CommandModule } from 'yargs';
import { type ApiTarget, callApi, DEFAULT_COORDINATOR } from './api-client.ts';
import { clusterCreateCommand } from './cluster-command.ts';
import { maintenanceCommand } from './maintenance-command.ts';
import { print, printJson, printTable } from './output.ts';
import { OPERATOR_RENAMED_ENV, warnAboutRenamedEnv, withCurrentEnvNames } from './renamed-env.ts';

/**
 * Operator commands over the coordinator's HTTP API: `nodes`, `instances`, `clusters`, `events`.
 * Human tables by default, `--json` for scripts. The token comes from NODEPULSE_API_TOKEN
 * (preferred: flags show in `ps`) or --token; the URL from --coordinator or NODEPULSE_COORDINATOR.
 */

type Row = Record<string, unknown>;
type Args = { coordinator?: string; token?: string; json?: boolean } & Record<string, unknown>;

const withTarget = (yargs: Argv) =>
  yargs
    .option('coordinator', { type: 'string', describe: `Coordinator URL (default ${DEFAULT_COORDINATOR}, or NODEPULSE_COORDINATOR)` })
    .option('token', { type: 'string', describe: 'Admin or reader token (prefer the NODEPULSE_API_TOKEN environment variable: flags show in ps)' })
    .option('json', { type: 'boolean', default: false, describe: 'Print JSON for scripts' });

function target(argv: Args): ApiTarget {
  warnAboutRenamedEnv(process.env, OPERATOR_RENAMED_ENV);
  const env = withCurrentEnvNames(process.env, OPERATOR_RENAMED_ENV);
  return { coordinator: argv.coordinator ?? (env.NODEPULSE_COORDINATOR || DEFAULT_COORDINATOR), token: argv.token ?? env.NODEPULSE_API_TOKEN };
}

/** Prints `data` as JSON, or as a table of `rows` with `columns`. */
function show(argv: Args, data: unknown, rows: readonly Row[], columns: readonly string[]): void {
  if (argv.json) printJson(data);
  else printTable(rows, columns);
}

/** One record as a two-column table of its fields. */
function showRecord(argv: Args, record: Row): void {
  const rows = Object.entries(record).map(([field, value]) => ({ field, value: typeof value === 'object' && value !== null ? JSON.stringify(value) : value }));
  show(argv, record, rows, ['field', 'value']);
}

/** A resource noun and its actions; `nodepulse NOUN` alone, or an action it does not have, is a usage error naming the actions. */
function group(command: string, describe: string, subcommands: CommandModule[]): CommandModule {
  const names = subcommands.map((sub) => String(sub.command).split(' ')[0]);
  return {
    command,
    describe,
    builder: (yargs: Argv) => subcommands.reduce((y, sub) => y.command(sub), yargs).demandCommand(1, `Name an action: ${names.join(', ')}`),
    handler: () => undefined,
  };
}

const action = (command: string, describe: string, options: (yargs: Argv) => Argv, run: (argv: Args) => Promise<void>): CommandModule => ({
  command,
  describe,
  builder: (yargs: Argv) => options(withTarget(yargs)),
  handler: (argv) => run(argv as Args),
});

const none = (yargs: Argv) => yargs;

export const nodesCommand = group('nodes', 'Nodes (registrations) of a cluster', [
  action(
    'list',
    'List Active nodes (--all: Terminated too)',
    (y) => y.option('all', { type: 'boolean', default: false }).option('cluster', { type: 'string', describe: 'Cluster name (default: default)' }),
    async (argv) => {
      const body = { includeTerminated: argv.all === true, ...(argv.cluster ? { cluster: argv.cluster } : {}) };
      const { nodes } = await callApi<{ nodes: Row[] }>(target(argv), 'POST', '/api/v1/actions/invoke/cluster_GetDetails', body);
      show(argv, nodes, nodes, ['nodeId', 'name', 'status', 'joinedAt', 'lastHeartbeat', 'uptimeSecs', 'terminationReason']);
    },
  ),
]);

/** Every page of the instance list. */
async function allInstances(api: ApiTarget, filters: Record<string, string>): Promise<Row[]> {
  const results: Row[] = [];
  let next: string | null = `/api/v2/instances/?${new URLSearchParams({ page_size: '200', ...filters }).toString()}`;
  while (next) {
    const page: { next: string | null; results: Row[] } = await callApi(api, 'GET', next);
    results.push(...page.results);
    next = page.next;
  }
  return results;
}

/** The instance an operator names: its id, or its hostname (within --cluster when several clusters have it). */
async function instanceIdOf(api: ApiTarget, host: string, cluster: string | undefined): Promise<number> {
  if (/^[1-9][0-9]*$/.test(host)) return Number(host);
  const matches = await allInstances(api, { hostname: host, ...(cluster ? { cluster } : {}) });
  if (matches.length === 1) return Number(matches[0]!.id);
  throw new Error(matches.length === 0 ? `no instance has hostname ${host}` : `${matches.length} clusters have an instance ${host}: name one with --cluster`);
}

/** The newest `limit` entries of an instance's history. */
async function historyOf(api: ApiTarget, id: number, limit: number): Promise<Row[]> {
  const results: Row[] = [];
  let next: string | null = `/api/v2/instances/${id}/history/?page_size=${Math.min(200, limit)}`;
  while (next && results.length < limit) {
    const page: { next: string | null; results: Row[] } = await callApi(api, 'GET', next);
    results.push(...page.results);
    next = page.next;
  }
  return results.slice(0, limit);
}

/** One line of what a transition's evidence says, for the table. */
function historySummary(entry: Row): string {
  const evidence = (entry.evidence ?? {}) as Row;
  const verdict = entry.verdict as Row | undefined;
  const parts: string[] = [];
  if (verdict) parts.push(`verdict ${String(verdict.outcome)}${verdict.why ? ` (${String(verdict.why)})` : ''}`);
  for (const field of ['boot_id', 'address', 'last_heartbeat', 'deadline', 'decided_by', 'hold', 'superseded_by', 'active_node_id', 'other_identity', 'until', 'reason', 'set_by']) {
    if (evidence[field] !== undefined) parts.push(`${field}=${String(evidence[field])}`);
  }
  // A timeout during maintenance was expected: say so, with its window.
  const maintenance = evidence.maintenance as Row | undefined;
  if (maintenance) parts.push(`expected: maintenance until ${String(maintenance.until)}${maintenance.reason ? ` (${String(maintenance.reason)})` : ''}`);
  return parts.join(' ');
}

/** The writable settings of an instance, as flags of `instances create` and `instances update` (the API's PATCH body). */
const instanceFieldOptions = (yargs: Argv) =>
  yargs
    .option('node-type', { choices: ['control', 'execution', 'hybrid', 'hop'], describe: 'node_type' })
    .option('node-state', { type: 'string', describe: 'node_state, only while no agent has registered the instance (e.g. installed, deprovisioning)' })
    .option('capacity-adjustment', { type: 'string', describe: 'capacity_adjustment: 0 to 1, at most two decimals' })
    .option('enabled', { type: 'boolean', describe: 'enabled (--no-enabled disables)' })
    .option('disabled', { type: 'boolean', hidden: true, describe: 'Same as --no-enabled (the spelling of 0.1)' })
    .option('managed-by-policy', { type: 'boolean', describe: 'managed_by_policy' })
    .option('listener-port', { type: 'number', describe: 'listener_port (0-65535)' })
    .option('peer', { type: 'string', array: true, describe: 'peers: a peer hostname (repeatable); replaces the list' })
    .option('peers-from-control-nodes', { type: 'boolean', describe: 'peers_from_control_nodes' });

/** The API body of the instance settings given as flags; a flag not given is left out, so update changes only what it names. */
function instanceFields(argv: Args): Row {
  const body: Row = {};
  const flags = [
    ['node-type', 'node_type'],
    ['node-state', 'node_state'],
    ['capacity-adjustment', 'capacity_adjustment'],
    ['enabled', 'enabled'],
    ['managed-by-policy', 'managed_by_policy'],
    ['listener-port', 'listener_port'],
    ['peer', 'peers'],
    ['peers-from-control-nodes', 'peers_from_control_nodes'],
  ] as const;
  for (const [flag, field] of flags) {
    const value = argv[flag];
    if (typeof value === 'number' && !Number.isInteger(value)) throw new Error(`--${flag} needs a whole number`);
    if (value !== undefined) body[field] = value;
  }
  if (argv.disabled === true) body.enabled = false;
  return body;
}

export const instancesCommand = group('instances', 'Instances (hosts), AWX-style', [
  action(
    'list',
    'List instances',
    (y) => y.option('hostname', { type: 'string' }).option('node-state', { type: 'string' }).option('cluster', { type: 'string' }),
    async (argv) => {
      const filters: Record<string, string> = {};
      for (const [flag, param] of [['hostname', 'hostname'], ['node-state', 'node_state'], ['cluster', 'cluster']] as const) {
        if (typeof argv[flag] === 'string') filters[param] = argv[flag];
      }
      const instances = await allInstances(target(argv), filters);
      show(argv, instances, instances, ['id', 'hostname', 'node_state', 'enabled', 'node_type', 'capacity', 'last_seen', 'version', 'errors']);
    },
  ),
  action('show <id>', 'Show one instance', (y) => y.positional('id', { type: 'number', demandOption: true }), async (argv) => {
    showRecord(argv, await callApi<Row>(target(argv), 'GET', `/api/v2/instances/${Number(argv.id)}/`));
  }),
  action(
    'create <hostname>',
    'Pre-register a host; its agent claims it by hostname (admin token)',
    (y) => instanceFieldOptions(y.positional('hostname', { type: 'string', demandOption: true })).option('cluster', { type: 'string', describe: 'Cluster (default: default)' }),
    async (argv) => {
      const body: Row = { hostname: argv.hostname, ...instanceFields(argv) };
      if (argv.cluster) body.cluster = argv.cluster;
      showRecord(argv, await callApi<Row>(target(argv), 'POST', '/api/v2/instances/', body));
    },
  ),
  action(
    'update <host>',
    'Change an instance’s settings: only the flags given (admin token)',
    (y) =>
      instanceFieldOptions(y.positional('host', { type: 'string', demandOption: true, describe: 'Hostname or instance id' }))
        .option('cluster', { type: 'string', describe: 'The cluster of the hostname, when several have it' })
        .option('hostname', { type: 'string', describe: 'New hostname' }),
    async (argv) => {
      const api = target(argv);
      const id = await instanceIdOf(api, String(argv.host), typeof argv.cluster === 'string' ? argv.cluster : undefined);
      const body: Row = { ...instanceFields(argv), ...(typeof argv.hostname === 'string' ? { hostname: argv.hostname } : {}) };
      if (Object.keys(body).length === 0) throw new Error('nothing to change: give at least one setting (nodepulse instances update --help lists them)');
      showRecord(argv, await callApi<Row>(api, 'PATCH', `/api/v2/instances/${id}/`, body));
    },
  ),
  action(
    'delete <host>',
    'Delete an instance that has no Active node (admin token)',
    (y) =>
      y
        .positional('host', { type: 'string', demandOption: true, describe: 'Hostname or instance id' })
        .option('cluster', { type: 'string', describe: 'The cluster of the hostname, when several have it' }),
    async (argv) => {
      const api = target(argv);
      const id = await instanceIdOf(api, String(argv.host), typeof argv.cluster === 'string' ? argv.cluster : undefined);
      await callApi(api, 'DELETE', `/api/v2/instances/${id}/`);
      if (argv.json) printJson({ id, deleted: true });
      else print(`deleted instance ${id}\n`);
    },
  ),
  action(
    'history <host>',
    'What happened to a host: its registrations (with the outage verdict), terminations and refused registrations, newest first',
    (y) =>
      y
        .positional('host', { type: 'string', demandOption: true, describe: 'Hostname or instance id' })
        .option('cluster', { type: 'string', describe: 'The cluster of the hostname, when several have it' })
        .option('limit', { type: 'number', default: 50, describe: 'Newest entries to show' }),
    async (argv) => {
      const api = target(argv);
      const id = await instanceIdOf(api, String(argv.host), typeof argv.cluster === 'string' ? argv.cluster : undefined);
      const entries = await historyOf(api, id, Math.max(1, Number(argv.limit)));
      const rows = entries.map((entry) => ({ ...entry, summary: historySummary(entry) }));
      show(argv, entries, rows, ['id', 'recorded_at', 'kind', 'reason', 'node_id', 'summary']);
    },
  ),
  action('health-check <id>', 'Ask the instance’s agent to run its health checks now', (y) => y.positional('id', { type: 'number', demandOption: true }), async (argv) => {
    const answer = await callApi<{ msg: string }>(target(argv), 'POST', `/api/v2/instances/${Number(argv.id)}/health_check/`);
    if (argv.json) printJson(answer);
    else print(`${answer.msg}\n`);
  }),
  maintenanceCommand({ withTarget, target, instanceIdOf, showRecord }),
]);

export const clustersCommand = group('clusters', 'Clusters: list them with their node counts, create one', [
  action('list', 'List every cluster with its node counts (admin token)', (y) => y.option('nodes', { type: 'boolean', default: false, describe: 'Include each cluster’s Active nodes' }), async (argv) => {
    const clusters: Row[] = [];
    let nextKey = '';
    do {
      const page: { clusters: Row[]; pagination: { next_key: string } } = await callApi(target(argv), 'POST', '/runtime/api/v1/clusters', {
        limit: 100,
        next_key: nextKey,
        include_nodes: argv.nodes === true,
      });
      clusters.push(...page.clusters);
      nextKey = page.pagination.next_key;
    } while (nextKey !== '');
    show(argv, clusters, clusters, ['id', 'name', 'provider', 'regions', 'nodes_count', 'running_nodes_count', 'failed_nodes_count', 'disabled_nodes_count']);
  }),
  clusterCreateCommand,
]);

export const eventsCommand = group('events', 'Cluster monitor events', [
  action('list', 'List retained events, newest first', none, async (argv) => {
    const events = await callApi<Row[]>(target(argv), 'GET', '/v0/cluster/events');
    show(argv, events, events, ['id', 'recorded_at', 'all_healthy', 'api_status', 'compiler_status', 'runner_status']);
  }),
  action('show [id]', 'Show one event with its details (default: latest)', (y) => y.positional('id', { type: 'string', default: 'latest' }), async (argv) => {
    showRecord(argv, await callApi<Row>(target(argv), 'GET', `/v0/cluster/events/${encodeURIComponent(String(argv.id))}?selector=all`));
  }),
]);

export const operatorCommands: CommandModule[] = [nodesCommand, instancesCommand, clustersCommand, eventsCommand];
