import { join } from 'node:path';
import { type SpawnedProcess, freePort, makeTempDir, spawnProcess } from '../../test/helpers/spawn-process.ts';
import type { Runtime } from './runtime.ts';

export const BENCH_ADMIN = 'np_bench_admin_token_0123456789abcdef';
export const BENCH_ENROLL = 'np_bench_enroll_token_0123456789abcdef';
export const ACTION = '/api/v1/actions/invoke/';

export interface CoordinatorChild {
  proc: SpawnedProcess;
  pid: number;
  url: string;
  port: number;
  storePath: string;
  /** When the coordinator said it was listening (its startup grace runs from here). */
  listeningAt: number;
  stop(): Promise<void>;
}

/** `nodepulse coordinator serve` as a child process on 127.0.0.1 and a free port. */
export async function startCoordinatorChild(
  runtime: Runtime,
  options: {
    storePath?: string;
    args?: string[];
    env?: Record<string, string>;
    keepLines?: boolean;
    /** A restart listens where its predecessor did; a free port otherwise. */
    port?: number;
    /** How long it may take to listen (a million-node store takes longer to open). */
    listenTimeoutMs?: number;
  } = {},
): Promise<CoordinatorChild> {
  const port = options.port ?? (await freePort());
  const storePath = options.storePath ?? join(makeTempDir('nodepulse-bench-'), 'nodepulse.db');
  const proc = spawnProcess(
    process.execPath,
    [...profilingArgs(), ...runtime.args, 'coordinator', 'serve', '--host', '127.0.0.1', '--port', String(port), '--store', storePath, ...(options.args ?? [])],
    { name: 'bench coordinator', env: { NODEPULSE_ADMIN_TOKEN: BENCH_ADMIN, NODEPULSE_ENROLL_TOKEN: BENCH_ENROLL, ...options.env } },
  );
  try {
    await proc.waitForLine(/"listening"/, options.listenTimeoutMs ?? 60_000);
  } catch (error) {
    proc.kill('SIGKILL');
    throw error;
  }
  const listeningAt = Date.now();
  // Logs are not kept (100k registrations would be 100k lines in this process).
  if (!options.keepLines) {
    proc.child.stdout?.on('data', () => proc.lines.splice(0));
  }
  return {
    proc,
    pid: proc.pid,
    url: `http://127.0.0.1:${port}`,
    port,
    storePath,
    listeningAt,
    async stop() {
      proc.kill('SIGTERM');
      try {
        await proc.waitForExit(15_000);
      } catch {
        proc.kill('SIGKILL');
        await proc.waitForExit(5_000).catch(() => undefined);
      }
    },
  };
}

/** One JSON POST to an action. */
export async function postAction(url: string, action: string, token: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${ACTION}${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Active nodes in the coordinator's node directory (its `nodepulse_known_active_nodes` gauge). */
export async function knownNodes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^nodepulse_known_active_nodes (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

/**
 * How many intervals a benchmark waits for the coordinator to know every node: it learns each from
 * the store on its first heartbeat, and at a million nodes on a busy 2-core machine that is
 * slower than the fleet's rate (about 4,000 nodes/s measured 2026-12-02 at load 7).
 */
export const LEARN_CYCLES = 10;

/** When the coordinator's directory held `count` nodes (Date.now()), or undefined after `giveUpMs`. */
export async function untilKnown(url: string, count: number, giveUpMs: number): Promise<number | undefined> {
  const until = Date.now() + giveUpMs;
  while (Date.now() < until) {
    if ((await knownNodes(url).catch(() => 0)) >= count) return Date.now();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
}

/** The heartbeat route, as the fleet benchmarks call it. */
export const HEARTBEAT_PATH = `${ACTION}cluster_ReportNodeHeartbeat`;
/** The agents' backoff cap the fleet benchmarks' coordinator hands out. */
export const FLEET_RETRY_CAP_SECS = 1;

/** The coordinator flags of a fleet benchmark: its interval and timeout, and the agents' backoff cap. */
export function fleetTimingArgs(scale: { intervalSecs: number; timeoutSecs: number }): string[] {
  return ['--heartbeat-interval', String(scale.intervalSecs), '--heartbeat-timeout', String(scale.timeoutSecs), '--agent-retry-max-delay-secs', String(FLEET_RETRY_CAP_SECS)];
}

/** NODEPULSE_BENCH_CPU_PROF=<dir>: the coordinator writes a V8 CPU profile there when it exits (Node refuses --cpu-prof in NODE_OPTIONS). */
function profilingArgs(): string[] {
  const dir = process.env.NODEPULSE_BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
}
