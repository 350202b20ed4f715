/**
 * Fuzz campaign: requests generated from the coordinator's own /openapi.json (every operation,
 * its parameters and body valid or mutated, with every kind of token: admin, reader, enroll, a
 * node's, garbage, JWTs valid, mutated and JWT-shaped garbage) and malformed HTTP written on raw
 * sockets, against a real `nodepulse coordinator serve` on 127.0.0.1.
 *
 * Asserted over every batch: no 5xx (but /v0/cluster_healthz's documented 503 of an unhealthy
 * cluster), no answer outside /openapi.json or the documented error bodies, no token echoed, no
 * hang (every request answered or closed within a bound), no error logged, the process alive;
 * after every batch, the store invariants of fuzz-invariants.ts.
 *
 * Seeded: NODEPULSE_FUZZ_SEED=<seed> sends the same requests again (each batch from a seed of its own;
 * node tokens and ids are looked up by index in the coordinator as it is then). `npm test` sends
 * 2,000 on SQLite and 1,000 on PostgreSQL; `npm run chaos` 100,000 and 30,000.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TestDatabase, createTestDatabase } from '../helpers/postgres.ts';
import { makeTempDir } from '../helpers/spawn-process.ts';
import { AnswerJudge, type Verdict } from './fuzz-answers.ts';
import { type Exchange, FuzzClient } from './fuzz-client.ts';
import { type FuzzTarget, startFuzzTarget } from './fuzz-coordinator.ts';
import { FuzzInvariants } from './fuzz-invariants.ts';
import { type RawCase, anyRawCase, sendRaw } from './fuzz-raw.ts';
import { type Draft, type FuzzRequest, anyDraft, resolve } from './fuzz-requests.ts';
import { type OpenApiDocument, type Operation, operationsOf } from './fuzz-schema.ts';
import { reportRow, storeLabel } from './results.ts';
import { FULL } from './settings.ts';
import { StoreReader } from './store-reader.ts';

const SEED = Number(process.env.NODEPULSE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SIZES = FULL ? { sqlite: 100_000, postgres: 30_000 } : { sqlite: 2_000, postgres: 1_000 };
const BATCH_SIZE = FULL ? 2_000 : 500;
const CONNECTIONS = 12;
/** Longer than any answer takes on a loaded machine; a slow writer's own pauses come on top. */
const BOUND_MS = 20_000;
/** Failures described in full; the rest are counted. */
const DESCRIBED = 30;
/**
 * From this many requests on, every operation's handler must have answered. A smaller campaign
 * may miss one by chance (a few percent of an operation's requests get past its checks): it only
 * says so.
 */
const COVERAGE_FROM = 10_000;

type FuzzItem = { draft: Draft } | { raw: RawCase };

/** Refusals only a route's handler gives, after authentication and validation passed. */
const HANDLER_REFUSALS = new Set(['InstanceNotFound', 'EventNotFound', 'DuplicateIdentity', 'HostnameInUse', 'HostnameTaken', 'InstanceHasActiveNode', 'NodeTerminated']);

/** Batch b's own seed, derived from the run's (SEED + b would make seed 4's batches seed 3's shifted by one). */
const batchSeed = (batch: number) => Math.imul(SEED ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(batch + 1, 0x85ebca6b) | 0;

class Tally {
  requests = 0;
  ok = 0;
  refused = 0;
  state503 = 0;
  fiveXx = 0;
  offShape = 0;
  hangs = 0;
  failures: string[] = [];
  /** The operations whose handler answered at least once: the fuzzing got past their checks. */
  readonly served = new Set<string>();

  /** Counts one answer; a connection closed without one counts as off-shape (every request is owed an answer). */
  add(verdict: Verdict, operation: Operation | undefined, explain: () => string): void {
    this.requests += 1;
    if (verdict.kind === 'documented') {
      if (verdict.status < 400) this.ok += 1;
      else this.refused += 1;
      if (operation && (verdict.status < 300 || HANDLER_REFUSALS.has(verdict.errorCode ?? ''))) this.served.add(operation.key);
      return;
    }
    if (verdict.kind === 'state 503') {
      this.state503 += 1;
      if (operation) this.served.add(operation.key);
      return;
    }
    if (verdict.kind === '5xx') this.fiveXx += 1;
    else if (verdict.kind === 'hang') this.hangs += 1;
    else this.offShape += 1;
    this.fail(`${verdict.kind}: ${verdict.problem}\n    ${explain()}`);
  }

  fail(text: string): void {
    if (this.failures.length < DESCRIBED) process.stderr.write(`fuzz failure (seed ${SEED}): ${text}\n`);
    this.failures.push(text);
  }

  summary(): string {
    const n = (value: number) => value.toLocaleString('en-US');
    const health = this.state503 > 0 ? `, ${n(this.state503)} documented cluster_healthz 503` : '';
    return `${n(this.fiveXx)} 5xx, ${n(this.offShape)} off-shape, ${n(this.hangs)} hangs; ${n(this.refused)} 4xx, ${n(this.ok)} 2xx${health}`;
  }
}

/** The request as a failure report shows it: tokens by kind, never by value. */
function describeRequest(request: FuzzRequest, exchange: Exchange): string {
  const headers = { ...request.headers, ...(request.headers.authorization ? { authorization: `<${request.tokenKind} token, scheme ${JSON.stringify(request.headers.authorization.split(' ')[0])}>` } : {}) };
  const body = request.body === undefined ? '(none)' : `${JSON.stringify(request.body.slice(0, 300))}${request.body.length > 300 ? ` (${request.body.length} chars)` : ''}`;
  return `${request.method} ${request.target.slice(0, 300)} headers ${JSON.stringify(headers)} body ${body}\n    -> ${describeExchange(exchange)}`;
}

function describeRaw(rawCase: RawCase, adminToken: string, exchange: Exchange): string {
  const bytes = rawCase.pieces.join('').replaceAll(adminToken, '<admin token>');
  return `raw ${rawCase.what} (${rawCase.pieces.length} piece(s), ${rawCase.pauseMs} ms apart): ${JSON.stringify(bytes.slice(0, 400))}\n    -> ${describeExchange(exchange)}`;
}

function describeExchange(exchange: Exchange): string {
  return `${exchange.outcome} ${exchange.status} ${exchange.contentType ?? ''} ${JSON.stringify(exchange.body.slice(0, 300))}${exchange.error ? ` (${exchange.error})` : ''}`;
}

/** Runs `work` over the items, `width` at a time; a failure of the test itself stops it once the requests in flight are done. */
async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      try {
        await work(items[next++]!);
      } catch (error) {
        next = items.length;
        throw error;
      }
    }
  };
  const failed = (await Promise.allSettled(Array.from({ length: width }, worker))).find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** What an answer tells the invariants: nodes registered, nodes terminated, instances deleted. */
function follow(request: { target?: string | undefined; nodeId?: string | undefined }, exchange: Exchange, operation: Operation | undefined, invariants: FuzzInvariants): void {
  if (!operation || !request.target || exchange.outcome !== 'answered') return;
  const { status } = exchange;
  if (operation.key === 'post /api/v1/actions/invoke/cluster_RegisterNode' && status === 200) invariants.registered((JSON.parse(exchange.body) as { nodeId: string }).nodeId);
  const nodeAction = operation.key.endsWith('cluster_DeregisterNode') || operation.key.endsWith('cluster_ReportNodeHeartbeat');
  if (request.nodeId && nodeAction && (status === 410 || (status === 200 && operation.key.endsWith('cluster_DeregisterNode')))) invariants.terminatedNode(request.nodeId);
  const deleted = operation.key === 'delete /api/v2/instances/{id}/' && status === 204 ? /^\/api\/v2\/instances\/([^/]+)\//.exec(request.target)?.[1] : undefined;
  if (deleted !== undefined) invariants.deletedInstance(Number(decodeURIComponent(deleted)));
}

/** A long enough token found in an answer: the coordinator must never echo one. */
function echoedToken(request: FuzzRequest, exchange: Exchange): boolean {
  const token = request.headers.authorization?.split(' ').find((part) => part.length >= 20);
  return token !== undefined && exchange.body.includes(token);
}

async function openApiOf(target: FuzzTarget): Promise<Operation[]> {
  const response = await fetch(`${target.coordinator.url}/openapi.json`);
  return operationsOf((await response.json()) as OpenApiDocument);
}

async function campaign(store: 'sqlite' | 'postgres', requests: number): Promise<void> {
  const startedAt = Date.now();
  process.stderr.write(`fuzz ${store}: ${requests} requests, seed ${SEED} (NODEPULSE_FUZZ_SEED=${SEED} repeats them)\n`);
  const database: TestDatabase | undefined = store === 'postgres' ? await createTestDatabase('fuzz') : undefined;
  const location = database?.url ?? join(makeTempDir('nodepulse-fuzz-'), 'nodepulse.db');
  const target = await startFuzzTarget(location);
  const { proc, port } = target.coordinator;
  const reader = new StoreReader(location);
  const invariants = new FuzzInvariants(reader, target.apis);
  const operations = await openApiOf(target);
  const judge = new AnswerJudge(operations);
  const client = new FuzzClient(port, BOUND_MS, CONNECTIONS);
  const tally = new Tally();
  const items: fc.Arbitrary<FuzzItem> = fc.oneof(
    { weight: 9, arbitrary: anyDraft(operations).map((draft) => ({ draft })) },
    { weight: 1, arbitrary: anyRawCase(operations, target.world.tokens.admin).map((raw) => ({ raw })) },
  );
  const fuzzOne = async (item: FuzzItem) => {
    if ('raw' in item) {
      const pauses = item.raw.pauseMs * item.raw.pieces.length;
      const exchange = await sendRaw(port, item.raw, BOUND_MS + pauses);
      const operation = judge.operationFor(item.raw.method, item.raw.target);
      tally.add(judge.judge(item.raw.method, item.raw.target, exchange), operation, () => describeRaw(item.raw, target.world.tokens.admin, exchange));
      follow(item.raw, exchange, operation, invariants);
      return;
    }
    const request = resolve(item.draft, target.world);
    const exchange = await client.send(request);
    const operation = judge.operationFor(request.method, request.target);
    const verdict = judge.judge(request.method, request.target, exchange);
    const leaked: Verdict = { kind: 'off-shape', problem: 'the answer quotes the bearer token' };
    tally.add(echoedToken(request, exchange) ? leaked : verdict, operation, () => describeRequest(request, exchange));
    follow(request, exchange, operation, invariants);
  };
  let loggedLines = 0;
  try {
    for (let batch = 0; tally.requests < requests && proc.exitStatus() === undefined; batch += 1) {
      for (const nodeId of await target.refreshWorld(batch)) invariants.registered(nodeId);
      const drafts = fc.sample(items, { seed: batchSeed(batch), numRuns: Math.min(BATCH_SIZE, requests - tally.requests) });
      await inParallel(drafts, CONNECTIONS, fuzzOne);
      for (const line of proc.lines.slice(loggedLines)) if (line.includes('"level":"error"')) tally.fail(`the coordinator logged an error in batch ${batch}: ${line.slice(0, 600)}`);
      loggedLines = proc.lines.length;
      if (proc.exitStatus() !== undefined) break;
      for (const problem of await invariants.check()) tally.fail(`store invariant after batch ${batch}: ${problem}`);
    }
    if (proc.exitStatus() !== undefined) tally.fail(`the coordinator exited: ${JSON.stringify(proc.exitStatus())}\n${proc.lines.slice(-20).join('\n')}`);
    const unserved = operations.filter((operation) => !tally.served.has(operation.key)).map((operation) => operation.key);
    const coverage = `never answered by their handler (a 2xx, or a refusal only it gives), so never fuzzed past their checks: ${unserved.join(', ')}`;
    if (unserved.length > 0 && requests >= COVERAGE_FROM) tally.fail(coverage);
    else if (unserved.length > 0) process.stderr.write(`fuzz ${store} (seed ${SEED}): ${coverage}\n`);
  } finally {
    client.close();
    proc.kill('SIGKILL');
    await proc.waitForExit(10_000);
    await reader.close();
    await database?.drop();
  }
  const passed = tally.failures.length === 0;
  reportRow({
    campaign: 'fuzz',
    store: storeLabel(store),
    trials: tally.requests,
    wronglyTimedOut: 0,
    recordsLost: invariants.violations.length,
    doubleActive: invariants.doubleActive.size,
    maxDetectionMs: null,
    durationSecs: Math.round((Date.now() - startedAt) / 1000),
    outcome: `${passed ? 'PASS' : `FAIL (${tally.failures.length} failures)`}: ${tally.summary()}; ${invariants.checks} invariant checks; seed ${SEED}`,
  });
  expect(tally.failures.slice(0, 5), `fuzz seed ${SEED}: ${tally.summary()}`).toEqual([]);
  expect(tally.requests).toBeGreaterThanOrEqual(requests);
}

describe.concurrent('fuzz campaign: requests from /openapi.json, mutated, and malformed HTTP', () => {
  for (const [store, requests] of Object.entries(SIZES) as ['sqlite' | 'postgres', number][]) {
    it(`${store}: ${requests.toLocaleString('en-US')} requests answer documented, never 5xx, never hang; the store invariants hold`, () => campaign(store, requests), FULL ? 60 * 60_000 : 90_000);
  }
});
