import type { Argv, CommandModule } from 'yargs';
import { type ApiTarget, callApi } from './api-client.ts';

/**
 * `nodepulse instances maintenance HOST --for 2h --reason TEXT` and `--off`: an instance's planned
 * downtime, through `PATCH /api/v2/instances/{id}/` (admin token). The operator commands hand in
 * how they reach the API and name an instance, so this file holds only what is its own.
 */

type Args = { json?: boolean } & Record<string, unknown>;

export interface MaintenanceCommandDeps {
  /** The shared options: coordinator URL, token, --json. */
  withTarget: (yargs: Argv) => Argv;
  target: (argv: Args) => ApiTarget;
  /** The instance an operator names: its id, or its hostname (within --cluster). */
  instanceIdOf: (api: ApiTarget, host: string, cluster: string | undefined) => Promise<number>;
  /** Prints one record (a table of fields, or JSON with --json). */
  showRecord: (argv: Args, record: Record<string, unknown>) => void;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "2h", "90m", "1h30m", "1d", "45s": milliseconds; undefined for anything else (or nothing). */
export function parseDuration(text: string): number | undefined {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)([smhd])/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text.trim()) return undefined;
  const ms = parts.reduce((total, [, amount, unit]) => total + Number(amount) * UNIT_MS[unit!]!, 0);
  return ms > 0 ? Math.round(ms) : undefined;
}

/** The PATCH body for the command's flags, at `now`. */
export function maintenanceBody(argv: Record<string, unknown>, now: number): Record<string, unknown> {
  if (argv.off === true) {
    if (argv.for !== undefined) throw new Error('--off ends the maintenance: it takes no --for');
    return { maintenance_until: null, maintenance_reason: typeof argv.reason === 'string' ? argv.reason : '' };
  }
  if (typeof argv.for !== 'string') throw new Error('say how long with --for (e.g. --for 2h, --for 30m, --for 1d), or end it with --off');
  const ms = parseDuration(argv.for);
  if (ms === undefined) throw new Error(`--for ${argv.for}: a duration such as 45s, 30m, 2h, 1h30m or 1d`);
  return { maintenance_until: new Date(now + ms).toISOString(), maintenance_reason: typeof argv.reason === 'string' ? argv.reason : '' };
}

export function maintenanceCommand(deps: MaintenanceCommandDeps): CommandModule {
  return {
    command: 'maintenance <host>',
    describe: 'Put a host in maintenance (its silence is expected: timed out, never counted as a failure) or end it (admin token)',
    builder: (yargs: Argv) =>
      deps
        .withTarget(yargs)
        .positional('host', { type: 'string', demandOption: true, describe: 'Hostname or instance id' })
        .option('for', { type: 'string', describe: 'How long from now: 45s, 30m, 2h, 1h30m, 1d' })
        .option('reason', { type: 'string', describe: 'Why (shown with the instance and in its history)' })
        .option('off', { type: 'boolean', describe: 'End the maintenance now' })
        .option('cluster', { type: 'string', describe: 'The cluster of the hostname, when several have it' }),
    handler: async (raw) => {
      const argv = raw as Args;
      const body = maintenanceBody(argv, Date.now());
      const api = deps.target(argv);
      const id = await deps.instanceIdOf(api, String(argv.host), typeof argv.cluster === 'string' ? argv.cluster : undefined);
      const instance = await callApi<Record<string, unknown>>(api, 'PATCH', `/api/v2/instances/${id}/`, body);
      const { hostname, maintenance, maintenance_until, maintenance_reason } = instance;
      deps.showRecord(argv, argv.json ? instance : { id, hostname, maintenance, maintenance_until, maintenance_reason });
    },
  };
}
