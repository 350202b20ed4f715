/**
 * A world for fault campaigns: the coordinator (one SQLite process, or two PostgreSQL replicas),
 * a proxy per group of nodes (tcp, round-robin over the replicas), the simulated fleet, three
 * real agents, a watcher of every replica's /readyz, of this process's own stalls and of every
 * process's wait for a CPU, and a timeline. Campaigns run in it as phases, one after the other;
 * each is judged from the store and the members' own records and printed as one row:
 *
 * - live nodes wrongly timed out: a member's node timed out (HeartbeatTimeout) while it was meant
 *   to be alive, unless the campaign judges it itself (a node behind a cut) or the machine starved
 *   the campaign then (reported as not judged, and the trial runs again);
 * - records lost: a registration acknowledged with a 200, a deregistration acknowledged, a token
 *   created, missing from the store (or refused by the coordinator);
 * - double-Active: an instance with two Active nodes at any check;
 * - detection delay of the nodes killed for good: terminatedAt − (lastHeartbeat + timeout).
 *
 * Everything listens on 127.0.0.1 (ephemeral ports) and lives in temporary directories; every
 * process the world started is killed by close(), and only those (worlds run side by side in one
 * worker, so killAll() of the shared helpers is not used).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { E2E_ADMIN, E2E_ENROLL } from '../helpers/coordinator-process.ts';
import { type PostgresServer, type TestDatabase, createTestDatabase, startPostgresServer } from '../helpers/postgres.ts';
import { REPO_ROOT, type SpawnOptions, type SpawnedProcess, freePort, spawnNodepulse, spawnProcess, waitFor } from '../helpers/spawn-process.ts';
import { ChaosProxy } from './chaos-proxy.ts';
import { RealAgent } from './real-agents.ts';
import { type CampaignRow, reportRow, storeLabel } from './results.ts';
import {
  COORDINATOR_ARGS,
  DEAD_NODES,
  INTERVAL_MS,
  INTERVAL_SECS,
  REQUEST_TIMEOUT_MS,
  BASELINE,
  RETRY_CAP_MS,
  TIMEOUT_MS,
} from './settings.ts';
import { type Member, SimFleet, type SimNode } from './sim-fleet.ts';
import { type NodeRow, type StoreSnapshot, StoreReader } from './store-reader.ts';

export type StoreKind = 'sqlite' | 'postgres';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The coordinator's CLI: this checkout's, or the baseline's (NODEPULSE_CHAOS_BASELINE). */
function spawnCoordinatorCli(args: string[], options: SpawnOptions): SpawnedProcess {
  if (!BASELINE) return spawnNodepulse(args, options);
  return spawnProcess(process.execPath, [join(BASELINE, 'bin', 'nodepulse'), ...args], options);
}

/** A coordinator process on a fixed port, which a campaign kills, stops and restarts. */
export class Replica {
  proc: SpawnedProcess | undefined;
  /** Every process this replica ran (it is restarted), for the logs of a failed campaign. */
  readonly procs: SpawnedProcess[] = [];
  stopped = false;
  readonly url: string;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly store: string,
    private readonly campaign: Campaign,
    private readonly args: string[],
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitStatus() === undefined;
  }

  /** Starts `nodepulse coordinator serve` on this replica's port and waits until it listens. */
  async start(): Promise<void> {
    const proc = spawnCoordinatorCli(['coordinator', 'serve', '--port', String(this.port), '--store', this.store, ...COORDINATOR_ARGS, ...this.args], {
      name: `${this.campaign.name} ${this.name}`,
      env: { NODEPULSE_ADMIN_TOKEN: E2E_ADMIN, NODEPULSE_ENROLL_TOKEN: E2E_ENROLL },
    });
    this.campaign.track(proc);
    this.proc = proc;
    this.procs.push(proc);
    this.stopped = false;
    await proc.waitForLine(/"listening"/, 90_000);
    this.campaign.note(`${this.name} listening (pid ${proc.pid})`);
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill('SIGKILL');
    await proc.waitForExit(10_000);
    this.campaign.note(`${this.name} killed (kill -9)`);
  }

  stop(): void {
    this.proc?.kill('SIGSTOP');
    this.stopped = true;
    this.campaign.note(`${this.name} SIGSTOP`);
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
    this.stopped = false;
    this.campaign.note(`${this.name} SIGCONT`);
  }

  output(): string {
    return this.proc?.output() ?? '';
  }
}

export interface ReadyObservation {
  at: number;
  replica: string;
  status: number;
  /** How long /readyz took to answer. */
  ms: number;
  sweeping: boolean;
  graceUntil: number | null;
  massSilence: { cluster: string; since: number; until: number; silent: number; active: number }[];
}

export interface GroupSpec {
  name: string;
  /** Simulated nodes in the group. */
  sims: number;
  /** Real agent processes in the group. */
  agents: number;
}

export interface CampaignOptions {
  /** The world's label (process names, hostnames, logs); each phase names its own row. */
  name: string;
  store: StoreKind;
  groups: GroupSpec[];
  /** How many phases (campaigns) will run in this world: each kills DEAD_NODES nodes of its own. */
  phases?: number;
  /** A PostgreSQL server of the campaign's own (to stop it), instead of the suite's shared one. */
  ownPostgres?: boolean;
  /** More coordinator flags. */
  args?: string[];
}

export interface WrongTimeout {
  member: string;
  nodeId: string;
  terminatedAt: number;
  detail: string;
}

export interface Verdict {
  row: CampaignRow;
  failures: string[];
}

/**
 * One campaign sets up at a time, across vitest workers: starting coordinators and agents (tsx
 * compiling TypeScript) is a CPU storm on a 2-core machine, and a storm while another campaign
 * runs its trials would starve that campaign's coordinator and fleet. A lock directory in the
 * temp dir, with the holder's pid (a dead holder's lock is broken).
 */
const SETUP_LOCK = join(tmpdir(), 'nodepulse-chaos-setup.lock');
const SETUP_LOCK_STALE_MS = 5 * 60_000;

function lockHolderGone(): boolean {
  try {
    const pid = Number(readFileSync(join(SETUP_LOCK, 'pid'), 'utf8'));
    if (pid > 0) process.kill(pid, 0);
    return Date.now() - statSync(SETUP_LOCK).mtimeMs > SETUP_LOCK_STALE_MS;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function withSetupLock<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(SETUP_LOCK);
      writeFileSync(join(SETUP_LOCK, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (lockHolderGone()) rmSync(SETUP_LOCK, { recursive: true, force: true });
      else await sleep(250 + Math.random() * 250);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(SETUP_LOCK, { recursive: true, force: true });
  }
}

/** The group and cluster of the nodes kept to be killed for good. */
const SPARE_GROUP = 'spare';
const SPARE_CLUSTER = 'spare';

/** An inconclusive trial (the machine starved the campaign) runs again at most this many times. */
const MAX_REPEATS = 2;

/** Deadlines for conditions: generous, the machine is small and shared. */
const SETTLE_DEADLINE_MS = 90_000;

export class Campaign {
  readonly startedAt = Date.now();
  readonly replicas: Replica[] = [];
  readonly proxies = new Map<string, ChaosProxy>();
  readonly agents: RealAgent[] = [];
  readonly timeline: { at: number; what: string }[] = [];
  readonly readiness: ReadyObservation[] = [];
  readonly tokens: { id: string; token: string; at: number }[] = [];
  /** Nodes kept to be killed for good, DEAD_NODES per phase (and some that stay), in a cluster of their own. */
  readonly spares: SimNode[] = [];
  /** The nodes killed for good in the current phase. */
  readonly dead: SimNode[] = [];
  /** The current phase (one campaign, one row) and when it began. */
  phaseName = '';
  phaseStartedAt = 0;
  /** The end of the last phase's verdict: the next one judges what happened after it (the first one, the setup too). */
  private judgedUntil = -Infinity;
  fleet!: SimFleet;
  store = '';
  /** Reads the store directly (the verdict's source of truth). */
  reader!: StoreReader;
  pgServer: PostgresServer | undefined;
  private database: TestDatabase | undefined;
  private readonly procs = new Set<SpawnedProcess>();
  private readonly tempDirs: string[] = [];
  private readonly background: Promise<unknown>[] = [];
  private watching = false;
  /** /readyz polls of a running, not stopped replica that got no answer within 1 s. */
  readonly unanswered: { at: number; replica: string }[] = [];
  /** Each watched process's main-thread wait for a CPU (schedstat run_delay), twice a second. */
  private readonly sched = new Map<number, { at: number; waitNs: number }[]>();
  /** The machine's 1-minute load average, every 5 s. */
  readonly load: { at: number; load1: number }[] = [];
  /** Stalls of this test process's event loop (over 250 ms): its simulated nodes' timers were late by that much. */
  readonly lags: { at: number; ms: number }[] = [];
  private lagTimer: NodeJS.Timeout | undefined;
  private readonly doubleActiveSeen = new Set<number>();
  /** Trials run so far (the row's count), repeats included. */
  trials = 0;
  /** Trials run again because the machine starved the campaign during them. */
  repeated = 0;
  /**
   * Timeouts the campaign judges itself (a node behind a cut): true excuses it from the generic
   * "live node timed out" count.
   */
  excuse: ((member: Member, row: NodeRow) => boolean) | undefined;
  /** Wrong timeouts the campaign found itself (a cut node terminated before its hold ended). */
  extraWrong: WrongTimeout[] = [];
  /** Other failures the campaign found (a hold that never ended, a late detection, an error). */
  extraFailures: string[] = [];
  /**
   * Outcomes not judged because the machine starved the campaign when they happened (see
   * starvedFor): reported with the row, neither counted nor failed.
   */
  inconclusive: string[] = [];

  private constructor(private readonly options: CampaignOptions) {}

  /** The current phase (campaign) and store, for messages. */
  get name(): string {
    return `${this.phaseName || this.options.name}/${this.options.store}`;
  }

  get storeKind(): StoreKind {
    return this.options.store;
  }

  /** Seconds since the campaign started, for messages: "t+12.3s". */
  t(at: number): string {
    return `t+${((at - this.startedAt) / 1000).toFixed(1)}s`;
  }

  note(what: string): void {
    this.timeline.push({ at: Date.now(), what });
    if (process.env.CHAOS_VERBOSE) process.stderr.write(`[${this.name} ${this.t(Date.now())}] ${what}\n`);
  }

  track(proc: SpawnedProcess): void {
    this.procs.add(proc);
  }

  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), `nodepulse-chaos-${prefix}-`));
    this.tempDirs.push(dir);
    return dir;
  }

  /**
   * Starts the coordinator(s), a proxy per group, the fleet and the real agents; returns once
   * every member is registered and Active.
   */
  static async open(options: CampaignOptions): Promise<Campaign> {
    const campaign = new Campaign(options);
    try {
      await withSetupLock(() => campaign.setUp());
    } catch (error) {
      await campaign.close();
      throw error;
    }
    return campaign;
  }

  private async setUp(): Promise<void> {
    const options = this.options;
    this.watchLag();
    const replicaCount = options.store === 'sqlite' ? 1 : 2;
    if (options.store === 'sqlite') {
      this.store = join(this.tempDir('store'), 'nodepulse.db');
    } else {
      if (options.ownPostgres) this.pgServer = await startPostgresServer();
      this.database = await createTestDatabase(`chaos_${options.name}`, ...(this.pgServer ? [this.pgServer.url] : []));
      this.store = this.database.url;
    }
    this.reader = new StoreReader(this.store);
    for (let index = 0; index < replicaCount; index++) {
      const name = replicaCount === 1 ? 'coordinator' : `replica-${String.fromCharCode(97 + index)}`;
      this.replicas.push(new Replica(name, await freePort(), this.store, this, options.args ?? []));
    }
    const ports = this.replicas.map((replica) => replica.port);
    // DEAD_NODES to kill per phase, and twice as many that stay: a phase never kills more than a
    // third of that cluster (or the mass-silence guard would rightly hold their timeouts).
    const groups = [...options.groups, { name: SPARE_GROUP, sims: DEAD_NODES * ((options.phases ?? 1) + 2), agents: 0 }];
    for (const group of groups) this.proxies.set(group.name, await ChaosProxy.start(group.name, ports));

    // The first replica migrates the store; the fleet and the agents (slow to start on a busy
    // machine) start while the second one does (the proxies skip a replica that is not up yet).
    await this.replicas[0]!.start();
    this.watchReadiness();
    this.fleet = new SimFleet({
      enrollToken: E2E_ENROLL,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      intervalMs: INTERVAL_MS,
      startupDelayMs: INTERVAL_MS,
      retryCapMs: RETRY_CAP_MS,
      label: `${options.name}-${options.store}`.replace(/[^a-z0-9-]/gi, '-'),
    });
    for (const group of groups) {
      const proxy = this.proxies.get(group.name)!;
      for (let index = 0; index < group.agents; index++) {
        const hostname = `${options.name}-${options.store}-agent-${this.agents.length + 1}`.replace(/[^a-z0-9-]/gi, '-');
        const agent = new RealAgent({
          url: proxy.url,
          stateDir: join(this.tempDir('agent'), 'state'),
          hostname,
          group: group.name,
          intervalSecs: INTERVAL_SECS,
          requestTimeoutSecs: REQUEST_TIMEOUT_MS / 1000,
          startupDelaySecs: 1,
          retryCapSecs: RETRY_CAP_MS / 1000,
        });
        this.track(agent.proc);
        this.agents.push(agent);
      }
      // The nodes to be killed for good live in a cluster of their own: the others' counts (the
      // mass-silence guard's) stay what each campaign means them to be.
      if (group.name === SPARE_GROUP) this.spares.push(...this.fleet.add(group.sims, group.name, proxy.url, { token: E2E_ADMIN, cluster: SPARE_CLUSTER }));
      else this.fleet.add(group.sims, group.name, proxy.url);
    }
    // Agents are slow to start (TypeScript through tsx, facts): let them register before the
    // second replica compiles its own, so the machine is not swamped at once.
    await waitFor(() => this.agents.every((agent) => agent.registrations().length > 0 || agent.proc.exitStatus() !== undefined), 120_000, {
      intervalMs: 250,
      message: `${this.name}: the agents registered`,
    });
    for (const replica of this.replicas.slice(1)) await replica.start();
    this.note(`fleet started: ${this.fleet.nodes.length} simulated nodes, ${this.agents.length} agents, ${this.replicas.length} replica(s)`);
    await this.settle('every member registered');
  }

  /**
   * Begins a phase: one campaign of this world, judged on its own (its row counts what happened
   * from the end of the previous phase's verdict on). Kills its own nodes for good first, and
   * waits until they are timed out.
   */
  async beginPhase(name: string): Promise<void> {
    this.phaseName = name;
    this.phaseStartedAt = Date.now();
    this.trials = 0;
    this.repeated = 0;
    this.excuse = undefined;
    this.extraWrong = [];
    this.extraFailures = [];
    this.inconclusive = [];
    this.tokens.length = 0;
    this.doubleActiveSeen.clear();
    this.note(`campaign ${name} begins`);
    await this.killDeadNodes();
  }

  members(): Member[] {
    return [...this.fleet.nodes, ...this.agents];
  }

  /** The simulated nodes that run and are meant to: not killed, not kept to be killed later. */
  liveSims(): SimNode[] {
    return this.fleet.nodes.filter((node) => node.meantAlive && node.running && !this.spares.includes(node));
  }

  liveMembers(): Member[] {
    return this.members().filter((member) => member.meantAlive);
  }

  /** Every replica that runs and is not stopped. */
  servingReplicas(): Replica[] {
    return this.replicas.filter((replica) => replica.running && !replica.stopped);
  }

  /** POST an action to a serving replica (directly, not through a proxy). */
  async post(action: string, body: unknown = {}, replica?: Replica): Promise<{ status: number; body: any }> {
    const target = replica ?? this.servingReplicas()[0];
    if (!target) throw new Error('no serving replica');
    const response = await fetch(`${target.url}/api/v1/actions/invoke/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${E2E_ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  /** The Active nodeIds of the default cluster, as the coordinator shows them. */
  async activeNodeIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const cluster of ['default', SPARE_CLUSTER]) {
      const response = await this.post('cluster_GetDetails', { includeTerminated: false, cluster });
      if (response.status !== 200) throw new Error(`GetDetails answered ${response.status}`);
      for (const node of response.body.nodes as { nodeId: string }[]) ids.add(node.nodeId);
    }
    return ids;
  }

  /** Every live member has a node, Active in the coordinator's view; the store has no double-Active instance. */
  async settle(what: string, deadlineMs = SETTLE_DEADLINE_MS): Promise<void> {
    let missing: string[] = [];
    try {
      await waitFor(
        async () => {
          const active = await this.activeNodeIds();
          missing = this.liveMembers()
            .filter((member) => {
              const nodeId = member.currentNodeId();
              return nodeId === undefined || !active.has(nodeId);
            })
            .map((member) => member.label);
          if (process.env.CHAOS_VERBOSE && missing.length > 0 && Math.random() < 0.1) this.note(`settling (${what}): ${missing.length} missing, e.g. ${missing.slice(0, 3).join(', ')}`);
          return missing.length === 0;
        },
        deadlineMs,
        { intervalMs: 500, message: what },
      );
    } catch (error) {
      throw new Error(`${this.name}: ${(error as Error).message}; ${missing.length} live member(s) without an Active node: ${missing.slice(0, 10).join(', ')}`);
    }
    await this.checkDoubleActive();
    this.note(`settled: ${what}`);
  }

  /** Remembers any instance with two Active nodes right now (the verdict counts them). */
  async checkDoubleActive(): Promise<void> {
    const snapshot = await this.reader.read();
    for (const { instanceId } of snapshot.doubleActive) this.doubleActiveSeen.add(instanceId);
  }

  /** The replica that sweeps, by its /readyz (waits for one to say so). */
  async sweepingReplica(deadlineMs = 30_000): Promise<Replica> {
    return waitFor(
      async () => {
        for (const replica of this.servingReplicas()) {
          const ready = await this.readyz(replica);
          if (ready?.sweeping) return replica;
        }
        return undefined;
      },
      deadlineMs,
      { intervalMs: 200, message: `${this.name}: a sweeping replica` },
    );
  }

  private async readyz(replica: Replica): Promise<ReadyObservation | undefined> {
    const started = Date.now();
    try {
      const response = await fetch(`${replica.url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as {
        sweeping?: boolean;
        holds?: { startupGraceUntil?: string | null; massSilence?: { cluster: string; since: string; until: string; silent: number; active: number }[] };
      };
      const grace = body.holds?.startupGraceUntil;
      return {
        at: Date.now(),
        replica: replica.name,
        status: response.status,
        ms: Date.now() - started,
        sweeping: body.sweeping === true,
        graceUntil: grace ? Date.parse(grace) : null,
        massSilence: (body.holds?.massSilence ?? []).map((hold) => ({ ...hold, since: Date.parse(hold.since), until: Date.parse(hold.until) })),
      };
    } catch {
      return undefined;
    }
  }

  /** Measures this process's own timer lateness: a starved test process would starve its simulated nodes. */
  private watchLag(): void {
    const periodMs = 100;
    let expected = Date.now() + periodMs;
    let ticks = 0;
    this.lagTimer = setInterval(() => {
      const now = Date.now();
      if (ticks % 50 === 0) this.load.push({ at: now, load1: loadavg()[0]! });
      if (ticks++ % 5 === 0) {
        this.sampleSched(process.pid, now);
        for (const replica of this.replicas) if (replica.running && replica.proc) this.sampleSched(replica.proc.pid, now);
      }
      const late = now - expected;
      if (late > 250) this.lags.push({ at: now, ms: late });
      expected = now + periodMs;
    }, periodMs);
    this.lagTimer.unref();
  }

  /** Linux only (elsewhere nothing is sampled, and nothing is excused for it). */
  private sampleSched(pid: number, at: number): void {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8');
    } catch {
      return;
    }
    const waitNs = Number(text.split(' ')[1]);
    if (!Number.isFinite(waitNs)) return;
    const samples = this.sched.get(pid) ?? [];
    samples.push({ at, waitNs });
    this.sched.set(pid, samples);
  }

  /** Polls every serving replica's /readyz four times a second, for the holds in force. */
  private watchReadiness(): void {
    this.watching = true;
    const loop = async () => {
      while (this.watching) {
        await Promise.all(
          this.servingReplicas().map(async (replica) => {
            const observation = await this.readyz(replica);
            if (observation) this.readiness.push(observation);
          }),
        );
        await sleep(250);
      }
    };
    this.background.push(loop());
  }

  /** The latest startup-grace end the sweeping replica showed (null: none in force). */
  latestGraceUntil(): number | null {
    const latest = [...this.readiness].reverse().find((observation) => observation.sweeping);
    const until = latest?.graceUntil ?? null;
    return until !== null && until > Date.now() ? until : null;
  }

  /**
   * Kills the nodes of the "dead" group for good (dead hosts), once the startup grace is nearly
   * over (so their deadline falls after it and the detection delay measures the sweeper, not the
   * grace), and waits until each is timed out.
   */
  private async killDeadNodes(): Promise<void> {
    const next = this.spares.filter((node) => node.meantAlive).slice(0, DEAD_NODES);
    this.dead.splice(0, this.dead.length, ...next);
    await this.sweepingReplica();
    await waitFor(() => this.readiness.some((observation) => observation.sweeping), 10_000, { message: 'a readiness observation' });
    const graceUntil = this.latestGraceUntil();
    if (graceUntil !== null) {
      // A node's last heartbeat lies at most an interval before the kill: its deadline is then after the grace.
      const killAt = graceUntil - (TIMEOUT_MS - INTERVAL_MS) + 500;
      if (killAt > Date.now()) await sleep(killAt - Date.now());
    }
    for (const node of this.dead) node.kill();
    this.note(`killed ${this.dead.length} nodes for good: ${this.dead.map((node) => node.killedNodeId).join(', ')}`);
    await waitFor(
      async () => {
        const snapshot = await this.reader.read();
        return this.dead.every((node) => {
          const nodeId = node.killedNodeId;
          return nodeId === undefined || snapshot.nodes.get(nodeId)?.status === 'Terminated';
        });
      },
      TIMEOUT_MS + 60_000,
      { intervalMs: 250, message: `${this.name}: the nodes killed for good timed out` },
    );
    this.note('the nodes killed for good are timed out');
  }

  /** `nodepulse token create` against the store, as an operator does while the coordinator runs (or not); `token`, not `tokens`, which a baseline checkout of 0.1 does not have. */
  async createToken(): Promise<void> {
    const proc = spawnCoordinatorCli(['token', 'create', '--role', 'reader', '--label', `chaos-${this.tokens.length + 1}`, '--store', this.store, '--json'], {
      name: `${this.name} token create`,
    });
    this.track(proc);
    const exit = await proc.waitForExit(90_000);
    if (exit.code !== 0) throw new Error(`${this.name}: token create exited ${exit.code}: ${proc.output()}`);
    const created = JSON.parse(proc.stdoutLines.join('\n')) as { id: string; token: string };
    this.tokens.push({ id: created.id, token: created.token, at: Date.now() });
    this.note(`token ${created.id} created`);
  }

  /** Lets time pass (during a fault: that is the scenario; never to decide an outcome). */
  async pass(ms: number): Promise<void> {
    await sleep(ms);
  }

  /** The tokens created during the campaign that the coordinator does not accept now. */
  private async refusedTokens(): Promise<string[]> {
    const replica = this.servingReplicas()[0];
    if (!replica) return this.tokens.map((token) => token.id);
    const refused: string[] = [];
    for (const token of this.tokens) {
      const response = await fetch(`${replica.url}/api/v2/instances/?page_size=1`, { headers: { authorization: `Bearer ${token.token}` }, signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      if (response.status !== 200) refused.push(`${token.id} (HTTP ${response.status})`);
    }
    return refused;
  }

  /**
   * The members' nodes timed out (HeartbeatTimeout) with terminatedAt in [from, to]: the dead
   * ones (their detection delays), the live ones the machine's starvation explains (not judged),
   * and the live ones that are the coordinator's doing (wrong). Timeouts the campaign judges
   * itself (excuse) are left out.
   */
  liveTimeouts(snapshot: StoreSnapshot, from = -Infinity, to = Infinity): { wrong: WrongTimeout[]; inconclusive: string[]; detections: number[] } {
    const wrong: WrongTimeout[] = [];
    const inconclusive: string[] = [];
    const detections: number[] = [];
    for (const member of this.members()) {
      for (const { nodeId } of member.registrations()) {
        const row = snapshot.nodes.get(nodeId);
        if (row?.terminationReason !== 'HeartbeatTimeout') continue;
        const terminatedAt = row.terminatedAt ?? 0;
        if (terminatedAt < from || terminatedAt > to) continue;
        if (member.killedAt !== undefined && terminatedAt >= member.killedAt) {
          detections.push(terminatedAt - (row.lastHeartbeat + TIMEOUT_MS));
          continue;
        }
        if (this.excuse?.(member, row)) continue;
        const starved = this.starvedFor(terminatedAt);
        if (starved !== undefined) {
          inconclusive.push(`${member.label} node ${nodeId} timed out ${this.t(terminatedAt)} (${starved} in its last timeout): ${this.describeTimeout(member, row)}`);
          continue;
        }
        wrong.push({ member: member.label, nodeId, terminatedAt, detail: this.describeTimeout(member, row) });
      }
    }
    return { wrong, inconclusive, detections };
  }

  /**
   * A trial's own outcome, [from, to]: 'wrong' when a live node was timed out by the coordinator's
   * doing, 'inconclusive' when the only timeouts fall where the machine starved the campaign (the
   * trial is worth running again), else 'clean'.
   */
  async judgeTrial(from: number, to: number): Promise<'clean' | 'wrong' | 'inconclusive'> {
    const timeouts = this.liveTimeouts(await this.reader.read(), from, to);
    const outcome = timeouts.wrong.length > 0 ? 'wrong' : timeouts.inconclusive.length > 0 ? 'inconclusive' : 'clean';
    if (outcome !== 'clean') this.note(`trial outcome: ${outcome} (${timeouts.wrong.length} live timed out, ${timeouts.inconclusive.length} not judged)`);
    return outcome;
  }

  /**
   * Runs one trial, and runs it again (at most MAX_REPEATS times) while its outcome is
   * inconclusive: the machine starved the campaign just when it mattered. `run` may say so itself
   * (true) for outcomes only it can judge.
   */
  async trial(label: string, run: () => Promise<boolean | void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const from = Date.now();
      this.note(`trial ${label}${attempt > 1 ? ` again (attempt ${attempt}: the last one was inconclusive)` : ''}`);
      const inconclusiveItself = (await run()) === true;
      this.trials += 1;
      const outcome = inconclusiveItself ? 'inconclusive' : await this.judgeTrial(from, Date.now());
      if (outcome !== 'inconclusive' || attempt > MAX_REPEATS) return;
      this.repeated += 1;
    }
  }

  /** Judges the campaign from the store and the members' records; prints and returns its row. */
  async verdict(): Promise<Verdict> {
    await this.checkDoubleActive();
    const snapshot = await this.reader.read();
    const from = this.judgedUntil;
    const to = Date.now();
    this.judgedUntil = to;
    const failures: string[] = [...this.extraFailures];
    const wrong: WrongTimeout[] = [...this.extraWrong];
    const lost: string[] = [];
    const detections: number[] = [];

    const timeouts = this.liveTimeouts(snapshot, from, to);
    wrong.push(...timeouts.wrong);
    this.inconclusive.push(...timeouts.inconclusive);
    detections.push(...timeouts.detections);
    for (const member of this.members()) {
      for (const { nodeId, at } of member.registrations()) {
        if (at < from || at > to) continue;
        if (!snapshot.nodes.has(nodeId)) lost.push(`registration of ${member.label}: node ${nodeId} (acknowledged ${this.t(at)}) is not in the store`);
      }
      for (const deregistration of member.deregistrations) {
        if (!deregistration.acked || deregistration.at < from || deregistration.at > to) continue;
        const row = snapshot.nodes.get(deregistration.nodeId);
        if (row?.status !== 'Terminated' || row.terminationReason !== 'Shutdown') {
          lost.push(
            `termination of ${member.label}: node ${deregistration.nodeId} deregistered (acknowledged ${this.t(deregistration.at)}) is ` +
              `${row ? `${row.status}/${row.terminationReason ?? '-'}` : 'missing'} in the store`,
          );
        }
      }
    }
    for (const node of this.dead) {
      const row = node.killedNodeId ? snapshot.nodes.get(node.killedNodeId) : undefined;
      if (node.killedNodeId && row?.terminationReason !== 'HeartbeatTimeout') {
        failures.push(`dead node ${node.label} (${node.killedNodeId}, killed ${this.t(node.killedAt ?? 0)}) was not timed out: ${row ? `${row.status}/${row.terminationReason ?? '-'}` : 'missing'}`);
      }
    }
    for (const token of this.tokens) {
      const row = snapshot.tokens.get(token.id);
      if (!row || row.revokedAt !== null) lost.push(`token ${token.id} (created ${this.t(token.at)}) is ${row ? 'revoked' : 'missing'} in the store`);
    }
    for (const refused of await this.refusedTokens()) lost.push(`token ${refused} is refused by the coordinator`);
    const doubleActive = this.doubleActiveSeen.size;
    if (doubleActive > 0) failures.push(`instances with two Active nodes: ${[...this.doubleActiveSeen].join(', ')}`);

    if (wrong.length > 0) {
      failures.push(
        `${wrong.length} live node(s) timed out:\n` +
          wrong
            .sort((a, b) => a.terminatedAt - b.terminatedAt)
            .slice(0, 25)
            .map((entry) => `  - ${entry.member} node ${entry.nodeId} terminated ${this.t(entry.terminatedAt)}: ${entry.detail}`)
            .join('\n') +
          (wrong.length > 25 ? `\n  ... and ${wrong.length - 25} more` : ''),
      );
    }
    if (lost.length > 0) failures.push(`${lost.length} record(s) lost:\n${lost.slice(0, 25).map((entry) => `  - ${entry}`).join('\n')}`);
    const maxDetection = detections.length > 0 ? Math.max(...detections) : null;
    if (failures.length > 0) {
      const lags = this.lags.map((lag) => `${this.t(lag.at)} ${lag.ms} ms`);
      failures.push(`test process event-loop stalls over 250 ms: ${lags.length === 0 ? 'none' : lags.slice(-30).join(', ')}`);
      failures.push(`timeline:\n${this.timeline.filter((entry) => entry.at >= from).map((entry) => `  ${this.t(entry.at)} ${entry.what}`).join('\n')}`);
      failures.push(this.holdHistory(from));
      failures.push(this.environment(from));
      failures.push(`coordinator logs: ${this.saveLogs()}`);
    }
    if (this.inconclusive.length > 0) {
      process.stderr.write(
        `\n${this.name}: ${this.inconclusive.length} outcome(s) not judged: the machine starved the campaign then (this test process, with the simulated nodes and every member's proxy, or a coordinator):\n  ${this.inconclusive.join('\n  ')}\n`,
      );
    }
    const notes = [
      this.repeated > 0 ? `${this.repeated} trial(s) repeated` : '',
      this.inconclusive.length > 0 ? `${this.inconclusive.length} outcome(s) not judged` : '',
    ].filter(Boolean);
    const notJudged = notes.length > 0 ? ` (${notes.join(', ')}: the machine starved the campaign)` : '';
    const outcome =
      failures.length === 0
        ? `PASS${notJudged}`
        : `FAIL${notJudged}: ${[
            wrong.length > 0 ? `${wrong.length} live timed out` : '',
            lost.length > 0 ? `${lost.length} lost` : '',
            doubleActive > 0 ? `${doubleActive} double-Active` : '',
            ...this.extraFailures.map((failure) => failure.split('\n')[0]!.slice(0, 80)),
          ]
            .filter(Boolean)
            .join('; ')}`;
    const row: CampaignRow = {
      campaign: this.phaseName || this.options.name,
      store: storeLabel(this.options.store),
      trials: this.trials,
      wronglyTimedOut: wrong.length,
      recordsLost: lost.length,
      doubleActive,
      maxDetectionMs: maxDetection === null ? null : Math.round(maxDetection),
      durationSecs: Math.round((to - (Number.isFinite(from) ? from : this.startedAt)) / 1000),
      outcome,
    };
    reportRow(row);
    return { row, failures };
  }

  /** How long this test process's event loop stalled within [from, to]. */
  stalledWithin(from: number, to: number): number {
    let stalled = 0;
    for (const lag of this.lags) stalled += Math.max(0, Math.min(lag.at, to) - Math.max(lag.at - lag.ms, from));
    return stalled;
  }

  /** Milliseconds a process's main thread waited for a CPU (runnable, not running) within [from, to], from its schedstat samples. */
  private runQueueWait(pid: number, from: number, to: number): number {
    const samples = this.sched.get(pid) ?? [];
    const inside = samples.filter((sample) => sample.at >= from - 500 && sample.at <= to + 500);
    if (inside.length < 2) return 0;
    return Math.round((inside.at(-1)!.waitNs - inside[0]!.waitNs) / 1e6);
  }

  /**
   * How starved the machine left this campaign within [from, to]: the test process (the
   * simulated nodes and every member's proxy live in it: its event-loop stalls and its wait for
   * a CPU) and the most starved coordinator process (its wait for a CPU, as the kernel counts it;
   * a SIGSTOPped process is not runnable, so a stall the campaign makes does not count).
   */
  starvation(from: number, to: number): { harnessMs: number; coordinatorMs: number; coordinator: string } {
    const harnessMs = Math.max(this.stalledWithin(from, to), this.runQueueWait(process.pid, from, to));
    let coordinatorMs = 0;
    let coordinator = '-';
    for (const replica of this.replicas) {
      for (const proc of replica.procs) {
        const waited = this.runQueueWait(proc.pid, from, to);
        if (waited > coordinatorMs) {
          coordinatorMs = waited;
          coordinator = `${replica.name} (pid ${proc.pid})`;
        }
      }
    }
    return { harnessMs, coordinatorMs, coordinator };
  }

  /**
   * Whether an outcome at `at` says nothing about the coordinator because the machine starved
   * the campaign: within [from, at] the test process or a coordinator lost more than the
   * timeout's margin (timeout − two intervals) to stalls or to waiting for a CPU. Returns why, or
   * undefined when the campaign ran as it should.
   */
  starvedFor(at: number, from = at - TIMEOUT_MS): string | undefined {
    const margin = TIMEOUT_MS - 2 * INTERVAL_MS;
    const starved = this.starvation(from, at);
    if (starved.harnessMs >= margin) return `this test process stalled or waited for a CPU ${starved.harnessMs} ms`;
    if (starved.coordinatorMs >= margin) return `coordinator ${starved.coordinator} waited for a CPU ${starved.coordinatorMs} ms`;
    return undefined;
  }

  /** What a wrongly timed-out node did around its timeout, to tell the coordinator's fault from the test's. */
  describeTimeout(member: Member, row: NodeRow): string {
    const terminatedAt = row.terminatedAt ?? 0;
    const from = terminatedAt - TIMEOUT_MS;
    const starved = this.starvation(from, terminatedAt);
    const parts = [
      `in that timeout this test process stalled or waited for a CPU ${starved.harnessMs} ms, the coordinator ${starved.coordinatorMs} ms`,
      `store lastHeartbeat ${this.t(row.lastHeartbeat)} (${terminatedAt - row.lastHeartbeat} ms before)`,
    ];
    if (member.kind === 'sim') {
      const node = member as SimNode;
      const lastOk = node.lastOkBefore(terminatedAt);
      parts.push(`its last 200 ${lastOk === undefined ? 'never' : `${this.t(lastOk)} (${terminatedAt - lastOk} ms before)`}`);
      const window = node.attempts.filter((attempt) => attempt.startedAt >= from - 2_000 && attempt.startedAt <= terminatedAt);
      parts.push(`requests in the last timeout: ${window.map((attempt) => `${this.t(attempt.startedAt)} ${attempt.kind} ${attempt.outcome}${attempt.status ? ` ${attempt.status}` : ''}${attempt.error && attempt.outcome === 'network' ? ` (${attempt.error})` : ''}`).join(', ') || 'none'}`);
      const gap = node.longestAttemptGap(from, terminatedAt);
      parts.push(`longest gap between its own requests ${gap} ms (a live agent tries at least every ${RETRY_CAP_MS + REQUEST_TIMEOUT_MS} ms)`);
    } else {
      const agent = member as RealAgent;
      const lines = agent.troubleLines(from - 2_000, terminatedAt + 1_000);
      parts.push(`agent log around it: ${lines.slice(-6).join(' | ') || 'no warnings'}`);
    }
    return parts.join('; ');
  }

  /** What the machine and the coordinators' responsiveness looked like, for a failure message. */
  environment(from = -Infinity): string {
    const loads = this.load.filter((sample) => sample.at >= from).map((sample) => `${this.t(sample.at)} ${sample.load1.toFixed(1)}`);
    const stops = this.timeline.filter((entry) => entry.at >= from && /SIGSTOP|SIGCONT|killed/.test(entry.what));
    const spans: string[] = [];
    for (const replica of this.replicas) {
      const misses = this.unanswered.filter((miss) => miss.replica === replica.name && miss.at >= from).map((miss) => miss.at);
      let start: number | undefined;
      let last = 0;
      for (const at of [...misses, Infinity]) {
        if (start !== undefined && at - last > 1_500) {
          spans.push(`${replica.name} ${this.t(start)}..${this.t(last)}`);
          start = undefined;
        }
        if (at !== Infinity && start === undefined) start = at;
        last = at;
      }
    }
    const slowest = this.replicas.map((replica) => {
      const times = this.readiness.filter((observation) => observation.replica === replica.name && observation.at >= from).map((observation) => observation.ms);
      return `${replica.name} ${times.length > 0 ? Math.max(...times) : '-'} ms`;
    });
    return (
      `machine load (1 min) every 5 s: ${loads.join(', ')}\n` +
      `slowest /readyz answer: ${slowest.join(', ')}\n` +
      `replicas not answering /readyz within 1 s (running, not stopped by the campaign): ${spans.join(', ') || 'never'}` +
      (stops.length > 0 ? ` (stops and kills: ${stops.map((entry) => `${this.t(entry.at)} ${entry.what}`).join(', ')})` : '')
    );
  }

  /** Writes every replica process's output under test-results/chaos/logs/; returns the directory. */
  saveLogs(): string {
    const dir = join(REPO_ROOT, 'test-results', 'chaos', 'logs', `${this.name.replace(/[^a-z0-9]+/gi, '-')}-${new Date(this.startedAt).toISOString().replace(/[:.]/g, '-')}`);
    try {
      mkdirSync(dir, { recursive: true });
      for (const replica of this.replicas) replica.procs.forEach((proc, index) => writeFileSync(join(dir, `${replica.name}-${index + 1}.log`), proc.output()));
      for (const agent of this.agents) writeFileSync(join(dir, `${agent.label}.log`), agent.proc.output());
      writeFileSync(join(dir, 'timeline.txt'), this.timeline.map((entry) => `${this.t(entry.at)} ${new Date(entry.at).toISOString()} ${entry.what}`).join('\n'));
    } catch (error) {
      return `(not written: ${(error as Error).message})`;
    }
    return dir;
  }

  /** The mass-silence holds and graces the sweeping replicas showed, condensed. */
  holdHistory(from = -Infinity): string {
    const seen = new Map<string, string>();
    for (const observation of this.readiness) {
      if (!observation.sweeping || observation.at < from) continue;
      if (observation.graceUntil !== null) seen.set(`grace ${observation.graceUntil}`, `grace until ${this.t(observation.graceUntil)} (${observation.replica}, first seen ${this.t(observation.at)})`);
      for (const hold of observation.massSilence) {
        const key = `hold ${hold.since}`;
        if (!seen.has(key)) seen.set(key, `mass-silence hold since ${this.t(hold.since)} until ${this.t(hold.until)}: ${hold.silent}/${hold.active} silent (${observation.replica}, first seen ${this.t(observation.at)})`);
      }
    }
    return `safety holds seen in /readyz:\n${[...seen.values()].map((entry) => `  ${entry}`).join('\n') || '  none'}`;
  }

  /** Kills every process of this campaign, closes the proxies, drops its database, removes its temp dirs. */
  async close(): Promise<void> {
    this.watching = false;
    clearInterval(this.lagTimer);
    await this.fleet?.shutdown().catch(() => undefined);
    for (const proc of this.procs) proc.kill('SIGKILL');
    await Promise.allSettled([...this.procs].map((proc) => proc.waitForExit(10_000)));
    await Promise.allSettled([...this.proxies.values()].map((proxy) => proxy.close()));
    await Promise.allSettled(this.background);
    await this.reader?.close();
    await this.database?.drop().catch(() => undefined);
    await this.pgServer?.remove().catch(() => undefined);
    for (const dir of this.tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

export interface PhaseSpec {
  /** The campaign's name: its row's first column. */
  name: string;
  run: (campaign: Campaign) => Promise<void>;
}

/** Runs one phase to its verdict: its trials, then the fleet settled, whatever happened. */
async function runPhase(campaign: Campaign, phase: PhaseSpec): Promise<Verdict> {
  await campaign.beginPhase(phase.name);
  try {
    await phase.run(campaign);
  } catch (error) {
    campaign.extraFailures.push(`the campaign broke off: ${(error as Error).stack ?? String(error)}`);
  }
  try {
    // Whatever happened, every live node must end up Active.
    for (const replica of campaign.replicas) if (replica.stopped) replica.resume();
    for (const proxy of campaign.proxies.values()) {
      proxy.restore();
      for (const replica of campaign.replicas) proxy.thaw(replica.port);
    }
    await campaign.settle('every live member Active at the end');
  } catch (error) {
    campaign.extraFailures.push((error as Error).message);
  }
  return campaign.verdict();
}

/**
 * Opens a world (coordinators, proxies, fleet, agents), runs the given campaigns in it one after
 * the other, each judged and printed as its own row, closes it, and fails with every failed
 * campaign's story.
 */
export async function runCampaigns(options: CampaignOptions, phases: PhaseSpec[]): Promise<Verdict[]> {
  const campaign = await Campaign.open({ ...options, phases: phases.length });
  const verdicts: Verdict[] = [];
  try {
    for (const phase of phases) verdicts.push(await runPhase(campaign, phase));
  } finally {
    await campaign.close();
  }
  const failed = verdicts.filter((verdict) => verdict.failures.length > 0);
  if (failed.length > 0) {
    throw new Error(failed.map((verdict) => `${verdict.row.campaign}/${options.store}: ${verdict.row.outcome}\n${verdict.failures.join('\n')}`).join('\n\n'));
  }
  return verdicts;
}

/** One campaign in a world of its own. */
export async function runCampaign(options: CampaignOptions, run: (campaign: Campaign) => Promise<void>): Promise<Verdict> {
  const [verdict] = await runCampaigns(options, [{ name: options.name, run }]);
  return verdict!;
}
