/**
 * The coordinator under fuzz: a real `nodepulse coordinator serve` on 127.0.0.1 with a reader
 * token and HS256 JWTs, the admin's reads the invariants compare, and the World the fuzzed
 * requests name (fresh pool nodes each batch, instance and event ids).
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { E2E_ADMIN, E2E_ENROLL, type CoordinatorProcess, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { spawnNodepulse } from '../helpers/spawn-process.ts';
import type { ClusterCounts, SeedApis } from './fuzz-invariants.ts';
import type { Role, World } from './fuzz-requests.ts';
import { COORDINATOR_ARGS } from './settings.ts';

const JWT_AUDIENCE = 'nodepulse-fuzz';
const JWT_ISSUER = 'fuzz-issuer';
/** The longest a request's headers and body may take to arrive: short, so slow writers and truncated bodies are answered 408 quickly. */
const RECEIVE_TIMEOUT_MS = 2000;
/** Nodes registered afresh before each batch, and how many batches' worth the pool keeps (older ones are mostly timed out by then: 410s). */
const POOL_PER_BATCH = 6;
const POOL_BATCHES = 2;

export interface FuzzTarget {
  coordinator: CoordinatorProcess;
  world: World;
  apis: SeedApis;
  /** Registers this batch's pool nodes and reads the instance and event ids; returns the nodes registered. */
  refreshWorld(batch: number): Promise<string[]>;
}

/** A reader token, created with the CLI in the coordinator's store as an operator would. */
async function createReaderToken(store: string): Promise<string> {
  const cli = spawnNodepulse(['tokens', 'create', '--role', 'reader', '--label', 'fuzz', '--json', '--store', store]);
  const exit = await cli.waitForExit(60_000);
  if (exit.code !== 0) throw new Error(`token create failed: ${cli.output()}`);
  return (JSON.parse(cli.stdoutLines.join('\n')) as { token: string }).token;
}

function signJwt(secret: Uint8Array, role: Role): Promise<string> {
  return new SignJWT({ nodepulse_role: role, ...(role === 'enroll' ? { nodepulse_cluster: 'edge' } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setAudience(JWT_AUDIENCE)
    .setIssuer(JWT_ISSUER)
    .setSubject(`fuzz-${role}`)
    .setExpirationTime('12h')
    .sign(secret);
}

/**
 * Starts the coordinator on `store` (a SQLite file or a PostgreSQL URL) with the chaos campaigns' timing (nodes time out within seconds, so the
 * sweeper and the mass-silence guard run during the fuzzing) and a failed-authentication limit
 * no fuzz run reaches: every wrong token gets its own 401 rather than one 429 for the rest of
 * the window (a 429 would still be judged as any answer).
 */
export async function startFuzzTarget(store: string): Promise<FuzzTarget> {
  const secret = randomBytes(32).toString('hex');
  const coordinator = await startCoordinatorProcess({
    storePath: store,
    args: [...COORDINATOR_ARGS, '--auth-failure-limit', '1000000', '--request-receive-timeout-ms', String(RECEIVE_TIMEOUT_MS), '--jwt-audience', JWT_AUDIENCE, '--jwt-issuer', JWT_ISSUER],
    env: { NODEPULSE_JWT_SECRET: secret },
  });
  const key = new TextEncoder().encode(secret);
  const world: World = {
    tokens: { admin: E2E_ADMIN, enroll: E2E_ENROLL, reader: await createReaderToken(store) },
    jwts: { admin: await signJwt(key, 'admin'), reader: await signJwt(key, 'reader'), enroll: await signJwt(key, 'enroll') },
    nodes: [],
    instanceIdsUpTo: 0,
    eventIds: [],
  };
  const get = async (path: string) => {
    const response = await fetch(`${coordinator.url}${path}`, { headers: { authorization: `Bearer ${E2E_ADMIN}` } });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const post = async (action: string, token: string, body: unknown) => {
    const answer = await coordinator.post(action, token, body);
    if (answer.status !== 200) throw new Error(`${action}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const apis: SeedApis = {
    activeNodes: async (cluster) => (await post('cluster_GetDetails', E2E_ADMIN, { cluster })).nodes,
    instanceCount: async (filter) => (await get(`/api/v2/instances/?${new URLSearchParams({ ...filter, page_size: '1' })}`)).count,
    clusters: async () => {
      const all: ClusterCounts[] = [];
      let nextKey = '';
      do {
        const response = await fetch(`${coordinator.url}/runtime/api/v1/clusters`, {
          method: 'POST',
          headers: { authorization: `Bearer ${E2E_ADMIN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ limit: 100, next_key: nextKey }),
        });
        const page = (await response.json()) as { clusters: ClusterCounts[]; pagination: { next_key: string } };
        all.push(...page.clusters);
        nextKey = page.pagination.next_key;
      } while (nextKey !== '');
      return all;
    },
  };
  const refreshWorld = async (batch: number) => {
    const fresh = [];
    for (let index = 0; index < POOL_PER_BATCH; index += 1) {
      const identity = `fuzz-pool-${batch}-${index}`;
      fresh.push((await post('cluster_RegisterNode', E2E_ENROLL, { name: identity, identity, hostname: identity })) as { nodeId: string; nodeToken: string });
    }
    world.nodes = [...world.nodes, ...fresh].slice(-POOL_PER_BATCH * POOL_BATCHES);
    world.instanceIdsUpTo = Math.max(world.instanceIdsUpTo, (await get('/api/v2/instances/?page_size=1')).count);
    world.eventIds = ((await get('/v0/cluster/events')) as { id: string }[]).map((event) => event.id);
    return fresh.map((node) => node.nodeId);
  };
  return { coordinator, world, apis, refreshWorld };
}
