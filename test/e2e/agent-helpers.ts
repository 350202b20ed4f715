/**
 * Helpers for the agent's end-to-end tests: start `nodepulse agent run` against a coordinator
 * child process with short intervals, and read the coordinator's view of the node.
 */
import { join } from 'node:path';
import { E2E_ADMIN, E2E_ENROLL, type CoordinatorProcess } from '../helpers/coordinator-process.ts';
import { type SpawnedProcess, makeTempDir, spawnNodepulse, waitFor } from '../helpers/spawn-process.ts';

/** Heartbeats every second, timed out after 4 s; every grace is 4 s plus the agents' backoff cap of 2 s. */
export const FAST = ['--heartbeat-interval', '1', '--heartbeat-timeout', '4', '--agent-retry-max-delay-secs', '2'];

export interface AgentOptions {
  stateDir?: string;
  env?: Record<string, string>;
  args?: string[];
}

export function startAgent(coordinatorUrl: string, options: AgentOptions = {}): { proc: SpawnedProcess; stateDir: string } {
  const stateDir = options.stateDir ?? join(makeTempDir('nodepulse-agent-'), 'state');
  const proc = spawnNodepulse(
    ['agent', 'run', '--coordinator', coordinatorUrl, '--state-dir', stateDir, '--heartbeat-interval', '1', '--log-level', 'debug', ...(options.args ?? [])],
    {
      env: {
        NODEPULSE_ENROLL_TOKEN: E2E_ENROLL,
        NODEPULSE_RETRY_BASE_DELAY: '0.1',
        NODEPULSE_RETRY_MAX_DELAY: '1',
        NODEPULSE_AUTH_RETRY_DELAY: '2',
        NODEPULSE_REQUEST_TIMEOUT: '2',
        ...options.env,
      },
    },
  );
  return { proc, stateDir };
}

export interface NodeView {
  nodeId: string;
  name?: string;
  status: 'Active' | 'Terminated';
  lastHeartbeat: string;
  joinedAt: string;
  terminationReason?: string;
}

export async function nodes(coordinator: CoordinatorProcess, includeTerminated = true): Promise<NodeView[]> {
  const response = await coordinator.post('cluster_GetDetails', E2E_ADMIN, { includeTerminated });
  if (response.status !== 200) throw new Error(`GetDetails answered ${response.status}`);
  return response.body.nodes as NodeView[];
}

/** The nodeId the agent logged on its latest registration. */
export function registeredNodeIds(proc: SpawnedProcess): string[] {
  return proc.stdoutLines.flatMap((line) => {
    if (!line.includes('"registered"')) return [];
    const parsed = JSON.parse(line) as { nodeId?: string };
    return parsed.nodeId ? [parsed.nodeId] : [];
  });
}

/** The identity the agent logged at start (its instance's uuid). */
export function startedIdentity(proc: SpawnedProcess): string {
  const line = proc.stdoutLines.find((l) => l.includes('"agent starting"'));
  if (!line) throw new Error('the agent has not logged "agent starting"');
  return (JSON.parse(line) as { identity: string }).identity;
}

/** How many of the agent's registrations the coordinator answered with 409 (from its debug request log). */
export function refusedRegistrations(proc: SpawnedProcess): number {
  return proc.stdoutLines.filter((line) => line.includes('"action":"cluster_RegisterNode"') && line.includes('"status":409')).length;
}

export async function waitForRegistration(proc: SpawnedProcess, count = 1, timeoutMs = 30_000): Promise<string> {
  const ids = await waitFor(() => (registeredNodeIds(proc).length >= count ? registeredNodeIds(proc) : undefined), timeoutMs, {
    message: `${count} registration(s) of the agent`,
  });
  return ids[count - 1]!;
}

export async function nodeById(coordinator: CoordinatorProcess, nodeId: string): Promise<NodeView | undefined> {
  return (await nodes(coordinator)).find((node) => node.nodeId === nodeId);
}

export async function instances(coordinator: CoordinatorProcess): Promise<Record<string, any>[]> {
  const response = await fetch(`${coordinator.url}/api/v2/instances/`, { headers: { authorization: `Bearer ${E2E_ADMIN}` } });
  return ((await response.json()) as { results: Record<string, any>[] }).results;
}
