import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent, type AgentDeps } from '../../../src/agent/agent.ts';
import { AgentConfigSchema, type AgentConfig } from '../../../src/agent/config.ts';
import { nextSlot, phaseOffsetMs } from '../../../src/agent/schedule.ts';
import { type Coordinator, CoordinatorError, InvalidAnswerError, TlsFailureError } from '../../../src/agent/coordinator-client.ts';
import type { Probes } from '../../../src/agent/probes.ts';
import type { ServiceNotifier } from '../../../src/agent/systemd-notifier.ts';
import { ManualClock } from '../../../src/shared/clock.ts';
import { loadConfig } from '../../../src/shared/config-loader.ts';
import { createLogger } from '../../../src/shared/logger.ts';
import type { HeartbeatRequest, HeartbeatResponse, RegisterNodeRequest } from '../../../src/shared/protocol.ts';

const GIB = 1024 ** 3;

function probes(overrides: Partial<Probes> = {}): Probes {
  return {
    hostname: () => 'web-1',
    cpu: async () => ({ cores: 4 }),
    os: async () => 'Linux',
    ipAddress: async () => '10.0.0.5',
    load: async () => ({ load1: 0.1 }),
    memory: async () => ({ totalBytes: 4 * GIB, availableBytes: 3 * GIB }),
    disks: async () => [],
    cgroup: async () => undefined,
    ...overrides,
  };
}

type Call =
  | { action: 'register'; token: string; body: RegisterNodeRequest; at: number }
  | { action: 'heartbeat'; token: string; body: HeartbeatRequest; at: number }
  | { action: 'deregister'; token: string; at: number };

class FakeCoordinator implements Coordinator {
  calls: Call[] = [];
  nodes = 0;
  intervalSecs = 10;
  registerError: (() => Error | undefined) | undefined;
  heartbeatReply: () => HeartbeatResponse | Error = () => ({});
  deregisterHangs = false;
  async register(token: string, body: RegisterNodeRequest) {
    this.calls.push({ action: 'register', token, body, at: Date.now() });
    const error = this.registerError?.();
    if (error) throw error;
    this.nodes += 1;
    return { nodeId: `node-${this.nodes}`, nodeToken: `npn_token${this.nodes}`, heartbeatIntervalSecs: this.intervalSecs };
  }
  async heartbeat(token: string, body: HeartbeatRequest) {
    this.calls.push({ action: 'heartbeat', token, body, at: Date.now() });
    const reply = this.heartbeatReply();
    if (reply instanceof Error) throw reply;
    return reply;
  }
  async deregister(token: string, _body: unknown, timeoutMs: number) {
    this.calls.push({ action: 'deregister', token, at: Date.now() });
    if (this.deregisterHangs) await new Promise((_, reject) => setTimeout(() => reject(new CoordinatorError('timeout', undefined, undefined)), timeoutMs));
  }
  close() {}
  of<A extends Call['action']>(action: A): Extract<Call, { action: A }>[] {
    return this.calls.filter((c): c is Extract<Call, { action: A }> => c.action === action);
  }
}

/** The agent's config for these tests; it registers at once (startupDelay 0) unless a test says otherwise. */
function config(extra: Record<string, unknown> = {}): AgentConfig {
  return loadConfig(AgentConfigSchema, {
    flags: { coordinator: 'http://x', heartbeatInterval: 10, collectorTimeout: 1, retryMaxDelay: 8, authRetryDelay: 60, labels: { zone: 'a' }, startupDelay: 0, ...extra },
  });
}

let lines: string[] = [];
const logger = () =>
  createLogger({ level: 'debug', component: 'agent', pretty: false, stream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });

class FakeNotifier implements ServiceNotifier {
  sent: { message: string; at: number }[] = [];
  constructor(readonly watchdogMs: number | undefined = undefined) {}
  ready() {
    this.sent.push({ message: 'READY=1', at: Date.now() });
  }
  watchdog() {
    this.sent.push({ message: 'WATCHDOG=1', at: Date.now() });
  }
  stopping() {
    this.sent.push({ message: 'STOPPING=1', at: Date.now() });
  }
  count(message: string): number {
    return this.sent.filter((s) => s.message === message).length;
  }
}

function makeAgent(coordinator: FakeCoordinator, cfg = config(), p = probes(), extra: Partial<AgentDeps> = {}) {
  return new Agent({ config: cfg, logger: logger(), coordinator, enrollToken: () => 'npe_enrolltoken', probes: p, identity: 'id-1', bootId: 'boot-1', ...extra });
}

/** An agent started against a fake coordinator, past its start-up slot: registered and heartbeating. */
async function registeredAgent() {
  const coordinator = new FakeCoordinator();
  const agent = makeAgent(coordinator);
  await agent.start();
  await vi.advanceTimersByTimeAsync(15_000);
  return { coordinator, agent };
}

describe('agent', () => {
  beforeEach(() => {
    lines = [];
    vi.useFakeTimers();
    vi.setSystemTime(Date.UTC(2026, 0, 1));
  });
  afterEach(() => vi.useRealTimers());

  it('registers with identity, boot id, labels and facts, then heartbeats with its own condition', async () => {
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(35_000);
    const [register] = coordinator.of('register');
    expect(register?.token).toBe('npe_enrolltoken');
    expect(register?.body).toMatchObject({ identity: 'id-1', bootId: 'boot-1', hostname: 'web-1', name: 'web-1', labels: { zone: 'a' } });
    expect(register?.body.facts).toMatchObject({ cpu: { cpus: 4, source: 'host' }, capacity: { cpuCapacity: 16, memCapacity: 20 } });
    const beats = coordinator.of('heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(beats.every((b) => b.token === 'npn_token1')).toBe(true);
    expect(beats[0]?.body.agent?.rssBytes).toBeGreaterThan(0);
    expect(beats.every((b) => b.body.facts === undefined)).toBe(true);
    await agent.stop(5_000);
  });

  it('sends unchanged facts again once factsRefreshInterval has passed on its own clock', async () => {
    const clock = new ManualClock(Date.now());
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator, config({ factsRefreshInterval: 300 }), probes(), { clock });
    await agent.start();
    await vi.advanceTimersByTimeAsync(25_000);
    const early = coordinator.of('heartbeat');
    expect(early.length).toBeGreaterThanOrEqual(1);
    expect(early.every((b) => b.body.facts === undefined)).toBe(true);
    // Only the agent's clock moves past the refresh: the timers (and Date.now()) stay seconds in.
    clock.advance(300_000);
    await vi.advanceTimersByTimeAsync(20_000);
    const late = coordinator.of('heartbeat').slice(early.length);
    expect(late.length).toBeGreaterThanOrEqual(2);
    expect(late[0]?.body.facts).toMatchObject({ hostname: 'web-1' });
    expect(late.slice(1).every((b) => b.body.facts === undefined)).toBe(true);
    await agent.stop(5_000);
  });

  it('waits for its own slot within one interval before it registers, unless startupDelay says otherwise', async () => {
    const coordinator = new FakeCoordinator();
    const cfg = loadConfig(AgentConfigSchema, { flags: { coordinator: 'http://x', heartbeatInterval: 10, collectorTimeout: 1 } });
    expect(cfg.startupDelay).toBeUndefined();
    const agent = makeAgent(coordinator, cfg);
    await agent.start();
    const startedAt = Date.now();
    const slotIn = nextSlot(startedAt, 10_000, phaseOffsetMs('id-1', 10_000)) - startedAt;
    expect(slotIn).toBeGreaterThan(200); // for this identity and start time; the slot lies within the interval
    expect(slotIn).toBeLessThanOrEqual(10_000);
    await vi.advanceTimersByTimeAsync(slotIn - 100);
    expect(coordinator.of('register')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(coordinator.of('register')).toHaveLength(1);
    await agent.stop(5_000);
  });

  it('registers again with a new node when the coordinator answers 410 or 404', async () => {
    const { coordinator, agent } = await registeredAgent();
    coordinator.heartbeatReply = () => new CoordinatorError('gone', 410, 'NodeTerminated');
    await vi.advanceTimersByTimeAsync(10_000);
    coordinator.heartbeatReply = () => ({});
    await vi.advanceTimersByTimeAsync(20_000);
    expect(coordinator.of('register')).toHaveLength(2);
    expect(coordinator.of('heartbeat').at(-1)?.token).toBe('npn_token2');
    expect(lines.join('')).toMatch(/registering again/);
    await agent.stop(5_000);
  });

  it('says what it waits for in its first minute: its start-up slot, then a coordinator that does not answer', async () => {
    const coordinator = new FakeCoordinator();
    coordinator.registerError = () => new CoordinatorError('ECONNREFUSED', undefined, undefined);
    const agent = makeAgent(coordinator, config({ startupDelay: undefined }));
    await agent.start();
    const slot = lines.map((l) => JSON.parse(l)).find((l) => l.message.startsWith("waiting for this node's slot"));
    expect(slot.registerInSecs).toBeGreaterThan(0);
    expect(slot.registerInSecs).toBeLessThanOrEqual(10);
    await vi.advanceTimersByTimeAsync(60_000);
    const reminders = lines.map((l) => JSON.parse(l)).filter((l) => l.message === 'not registered yet; retrying');
    // The first failure, then one every 20 s: neither silent nor a line per attempt.
    expect(reminders.length).toBeGreaterThanOrEqual(2);
    expect(reminders.length).toBeLessThanOrEqual(4);
    expect(reminders[0]).toMatchObject({ failedAttempts: 1, nextAttemptInSecs: expect.any(Number) });
    expect(lines.filter((l) => l.includes('coordinator unreachable'))).toHaveLength(1);
    await agent.stop(5_000);
  });

  it('tells its status: unregistered and unreachable with its backoff, then registered, and unhealthy once its loop stalls', async () => {
    const clock = new ManualClock(Date.now());
    const coordinator = new FakeCoordinator();
    let down = true;
    coordinator.registerError = () => (down ? new CoordinatorError('ECONNREFUSED', undefined, undefined) : undefined);
    const reports: ReturnType<Agent['status']>[] = [];
    const agent = makeAgent(coordinator, config(), probes(), { clock, onStatus: (report) => reports.push(report) });
    expect(agent.status()).toMatchObject({ registered: false, healthy: false, coordinatorReachable: null });
    await agent.start();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(agent.status()).toMatchObject({
      registered: false,
      nodeId: null,
      connection: 'unreachable',
      coordinatorReachable: false,
      lastAttempt: { kind: 'registration', outcome: 'retry' },
      lastHeartbeatAt: null,
      healthy: true,
    });
    expect(agent.status().backoff.failures).toBeGreaterThan(0);
    expect(agent.status().backoff.delaySecs).toBeGreaterThan(0);
    down = false;
    await vi.advanceTimersByTimeAsync(15_000);
    const registered = agent.status();
    expect(registered).toMatchObject({ registered: true, nodeId: 'node-1', connection: 'connected', coordinatorReachable: true, backoff: { failures: 0, delaySecs: 0 } });
    expect(registered.lastAttempt?.outcome).toBe('ok');
    expect(registered.lastHeartbeatAt).toEqual(registered.lastAttempt?.at);
    expect(reports.at(-1)).toEqual(registered);
    // The loop's timers stop firing (a stalled event loop) while its clock runs on: past the next attempt and one request, unhealthy.
    clock.advance(Date.parse(registered.nextAttemptAt!) - clock.now() + 5_000 + 2_001);
    expect(agent.status().healthy).toBe(false);
    await agent.stop(5_000);
    expect(agent.status()).toMatchObject({ registered: false, healthy: false, nextAttemptAt: null });
  });

  it('logs an unreachable coordinator once, backs off, and registers once it answers', async () => {
    const coordinator = new FakeCoordinator();
    let down = true;
    coordinator.registerError = () => (down ? new CoordinatorError('ECONNREFUSED', undefined, undefined) : undefined);
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(60_000);
    const attempts = coordinator.of('register').length;
    expect(attempts).toBeGreaterThan(5);
    expect(attempts).toBeLessThan(60);
    expect(lines.filter((l) => l.includes('coordinator unreachable'))).toHaveLength(1);
    down = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(agent.session.current?.nodeId).toBe('node-1');
    expect(lines.filter((l) => l.includes('connected to the coordinator'))).toHaveLength(1);
    await agent.stop(5_000);
  });

  it('never takes an answer not to believe for a registration: one error line naming the coordinator, backoff, no heartbeat', async () => {
    const coordinator = new FakeCoordinator();
    let garbage = true;
    coordinator.registerError = () =>
      garbage
        ? new InvalidAnswerError(
            'cluster_RegisterNode: http://coordinator.example:8420 answered HTTP 200 (text/html, 35 bytes) with something that is not a RegisterNodeResponse: the body is not JSON',
            200,
            undefined,
          )
        : undefined;
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(60_000);
    // Backoff (0.5 s doubling to 8 s), not the slow retry (60 s): a coordinator behind a proxy that is restarting comes back soon.
    expect(coordinator.of('register').length).toBeGreaterThan(5);
    expect(coordinator.of('register').length).toBeLessThan(60);
    expect(coordinator.of('heartbeat')).toHaveLength(0);
    expect(agent.session.current).toBeUndefined();
    expect(lines.join('')).not.toMatch(/"registered"/);
    const errors = lines.filter((l) => l.includes('"bad-answer"'));
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({ level: 'error', state: 'bad-answer' });
    expect(errors[0]).toMatch(/registration failed: cluster_RegisterNode: http:\/\/coordinator.example:8420 answered .* not a RegisterNodeResponse/);
    garbage = false;
    await vi.advanceTimersByTimeAsync(25_000);
    expect(agent.session.current?.nodeId).toBe('node-1');
    expect(coordinator.of('heartbeat').at(-1)?.token).toBe('npn_token1');
    await agent.stop(5_000);
  });

  it('keeps its registration through a heartbeat answer not to believe, whatever its status, and backs off', async () => {
    const { coordinator, agent } = await registeredAgent();
    coordinator.heartbeatReply = () => new InvalidAnswerError('cluster_ReportNodeHeartbeat: http://x answered HTTP 404 with more than 64 KiB', 404, undefined);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(coordinator.of('register')).toHaveLength(1);
    expect(agent.session.current?.nodeId).toBe('node-1');
    expect(lines.filter((l) => l.includes('"bad-answer"'))).toHaveLength(1);
    await agent.stop(5_000);
  });

  it('waits as long as a 503 asks in Retry-After before registering again', async () => {
    const coordinator = new FakeCoordinator();
    let busy = true;
    coordinator.registerError = () => (busy ? new CoordinatorError('HTTP 503 StoreUnavailable', 503, 'StoreUnavailable', {}, 20_000) : undefined);
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(1_000);
    busy = false;
    await vi.advanceTimersByTimeAsync(18_000);
    expect(coordinator.of('register')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_000);
    const [first, second] = coordinator.of('register');
    expect(second!.at - first!.at).toBe(20_000);
    expect(agent.session.current?.nodeId).toBe('node-1');
    await agent.stop(5_000);
  });

  it('refuses to hammer on a duplicate identity: a clear error once, slow retries, no crash', async () => {
    const coordinator = new FakeCoordinator();
    coordinator.registerError = () => new CoordinatorError('dup', 409, 'DuplicateIdentity');
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(coordinator.of('register').length).toBeGreaterThanOrEqual(2);
    expect(coordinator.of('register').length).toBeLessThanOrEqual(5);
    const errors = lines.filter((l) => l.includes('another host with identity id-1'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/"level":"error"/);
    await agent.stop(5_000);
  });

  it('refuses to hammer a coordinator whose certificate it refuses: one clear error, slow retries, a heartbeat keeps its registration', async () => {
    const coordinator = new FakeCoordinator();
    const refusal = () =>
      new TlsFailureError('cluster_RegisterNode: TLS with https://coordinator.example:8420 failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE (...); give ... --ca-file', undefined, undefined);
    coordinator.registerError = refusal;
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(120_000);
    // The slow retry (authRetryDelay 60 s: 30 to 60 s), not the network backoff (0.5 s doubling to 8 s).
    expect(coordinator.of('register').length).toBeGreaterThanOrEqual(2);
    expect(coordinator.of('register').length).toBeLessThanOrEqual(5);
    const errors = lines.filter((l) => l.includes('"state":"tls-failure"'));
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({ level: 'error', state: 'tls-failure' });
    expect(errors[0]).toMatch(/registration failed: .*https:\/\/coordinator.example:8420.*UNABLE_TO_VERIFY_LEAF_SIGNATURE.*--ca-file.*Retrying slowly/);

    coordinator.registerError = undefined;
    await vi.advanceTimersByTimeAsync(65_000);
    expect(agent.session.current?.nodeId).toBe('node-1');
    const registrations = coordinator.of('register').length;
    const heartbeats = coordinator.of('heartbeat').length;
    coordinator.heartbeatReply = refusal;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(agent.session.current?.nodeId).toBe('node-1');
    expect(coordinator.of('register')).toHaveLength(registrations);
    expect(coordinator.of('heartbeat').length - heartbeats).toBeLessThanOrEqual(5);
    expect(lines.filter((l) => l.includes('"state":"tls-failure"'))).toHaveLength(2);
    await agent.stop(5_000);
  });

  it('on another agent holding its hostname (HostnameInUse): one clear error naming that identity and the fix, slow retries', async () => {
    const coordinator = new FakeCoordinator();
    const details = { otherIdentity: 'uuid-of-the-other-agent', hostname: 'web-1', activeNodeId: 'node-other' };
    coordinator.registerError = () => new CoordinatorError('hostname in use', 409, 'HostnameInUse', details);
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(coordinator.of('register').length).toBeGreaterThanOrEqual(2);
    expect(coordinator.of('register').length).toBeLessThanOrEqual(5);
    const errors = lines.filter((l) => l.includes('another agent (identity uuid-of-the-other-agent) is registered as hostname web-1'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/"level":"error"/);
    expect(errors[0]).toMatch(/its own hostname.*--hostname.*state directory/);
    await agent.stop(5_000);
  });

  it('registers as its configured hostname (a second agent on one host), keeping the host name in its facts', async () => {
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator, config({ hostname: 'web-1-canary' }));
    await agent.start();
    await vi.advanceTimersByTimeAsync(1_000);
    const [register] = coordinator.of('register');
    expect(register?.body).toMatchObject({ hostname: 'web-1-canary', name: 'web-1-canary', facts: { hostname: 'web-1' } });
    await agent.stop(5_000);
  });

  it('runs the checks when the coordinator asks and reports them in the next heartbeat at once', async () => {
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator, config({ checks: [{ name: 'mem', type: 'memory', interval: 3600 }] }));
    await agent.start();
    await vi.advanceTimersByTimeAsync(25_000);
    const before = coordinator.of('heartbeat').length;
    coordinator.heartbeatReply = () => ({ healthCheckRequested: true });
    await vi.advanceTimersByTimeAsync(10_000);
    coordinator.heartbeatReply = () => ({});
    await vi.advanceTimersByTimeAsync(100);
    const beats = coordinator.of('heartbeat').slice(before);
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats[1]!.at - beats[0]!.at).toBeLessThan(1_000);
    expect(beats[1]?.body.health).toEqual({ status: 'passing', checks: [{ name: 'mem', status: 'passing', output: expect.stringMatching(/75.0% memory available/) }] });
    await agent.stop(5_000);
  });

  it('keeps heartbeats on time while a collector hangs, and reports that figure as unknown', async () => {
    const coordinator = new FakeCoordinator();
    const hang = () => new Promise<never>(() => {});
    const agent = makeAgent(coordinator, config(), probes({ cpu: hang, disks: hang }));
    const started = agent.start();
    await vi.advanceTimersByTimeAsync(1_500);
    await started;
    await vi.advanceTimersByTimeAsync(60_000);
    const beats = coordinator.of('heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < beats.length; i++) expect(beats[i]!.at - beats[i - 1]!.at).toBe(10_000);
    const facts = coordinator.of('register')[0]?.body.facts;
    expect(facts?.cpu).toBeUndefined();
    expect(facts?.unknown).toContainEqual({ figure: 'cpu', reason: 'cpu timed out after 1000 ms' });
    await agent.stop(5_000);
  });

  it('deregisters with reason Shutdown on stop, and gives up at the deadline when the coordinator hangs', async () => {
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(1_000);
    coordinator.deregisterHangs = true;
    const stopped = agent.stop(2_000);
    await vi.advanceTimersByTimeAsync(2_100);
    expect(await stopped).toBe(false);
    expect(coordinator.of('deregister')[0]?.token).toBe('npn_token1');
    expect(lines.join('')).toMatch(/deregistration did not complete before the deadline/);
    const callsAfter = coordinator.calls.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(coordinator.calls.length).toBe(callsAfter);
  });

  it('finishes the whole shutdown within the default deadline (1.5 s) when the coordinator accepts and never answers', async () => {
    const coordinator = new FakeCoordinator();
    const cfg = config();
    expect(cfg.deregisterTimeout).toBe(1.5);
    const agent = makeAgent(coordinator, cfg);
    await agent.start();
    await vi.advanceTimersByTimeAsync(15_000);
    coordinator.heartbeat = () => new Promise<never>(() => {});
    coordinator.deregisterHangs = true;
    await vi.advanceTimersByTimeAsync(10_000); // a heartbeat is in flight, never to be answered
    const stopping = Date.now();
    let stoppedAt: number | undefined;
    void agent.stop(cfg.deregisterTimeout * 1000).then(() => (stoppedAt = Date.now()));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stoppedAt! - stopping).toBeLessThanOrEqual(1_500);
    expect(coordinator.of('deregister')).toHaveLength(1);
  });

  it('sends new labels with the next heartbeat after a reload, without registering again', async () => {
    const { coordinator, agent } = await registeredAgent();
    agent.reload(config({ labels: { zone: 'b' } }));
    await vi.advanceTimersByTimeAsync(20_000);
    expect(coordinator.of('register')).toHaveLength(1);
    const withLabels = coordinator.of('heartbeat').filter((b) => b.body.labels);
    expect(withLabels).toHaveLength(1);
    expect(withLabels[0]?.body.labels).toEqual({ zone: 'b' });
    await agent.stop(5_000);
  });

  it('registers again as the new identity when a reload changes it', async () => {
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(5_000);
    agent.reload(config(), 'web-0');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(coordinator.of('register').map((r) => r.body.identity)).toEqual(['id-1', 'web-0']);
    expect(coordinator.of('deregister').map((d) => d.token)).toEqual(['npn_token1']);
    expect(agent.session.current?.nodeId).toBe('node-2');
    await agent.stop(5_000);
  });

  it('never writes a token to its logs', async () => {
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(30_000);
    await agent.stop(5_000);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toMatch(/npn_token|npe_enrolltoken/);
  });

  it('adopts the coordinator interval over a different configured one, and keeps it through a reload', async () => {
    const coordinator = new FakeCoordinator();
    coordinator.intervalSecs = 5;
    const agent = makeAgent(coordinator, config({ heartbeatInterval: 20 }));
    await agent.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(agent.loop.interval).toBe(5_000);
    expect(lines.filter((l) => l.includes('heartbeat interval set by the coordinator'))).toHaveLength(1);
    agent.reload(config({ heartbeatInterval: 30 }));
    const before = coordinator.of('heartbeat').length;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(agent.loop.interval).toBe(5_000);
    expect(coordinator.of('heartbeat').length - before).toBeGreaterThanOrEqual(5);
    await agent.stop(5_000);
  });

  it('keeps the coordinator interval through a reload even when it matched the config at registration', async () => {
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator, config({ heartbeatInterval: 10 }));
    await agent.start();
    await vi.advanceTimersByTimeAsync(1_000);
    agent.reload(config({ heartbeatInterval: 60 }));
    expect(agent.loop.interval).toBe(10_000);
    await agent.stop(5_000);
  });

  it('registers again at once when a heartbeat answers 401 (the coordinator forgot the node, e.g. a wiped store)', async () => {
    const { coordinator, agent } = await registeredAgent();
    const forgotten = new CoordinatorError('cluster_ReportNodeHeartbeat: HTTP 401 Unauthorized: Invalid token', 401, 'Unauthorized');
    coordinator.heartbeatReply = () => (coordinator.calls.at(-1)?.token === 'npn_token1' ? forgotten : {});
    await vi.advanceTimersByTimeAsync(10_000);
    const refused = coordinator.of('heartbeat').find((beat) => beat.token === 'npn_token1' && beat.at >= Date.now() - 10_000);
    const [, again] = coordinator.of('register');
    expect(again!.at - refused!.at).toBeLessThan(1_000);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(coordinator.of('register')).toHaveLength(2);
    expect(coordinator.of('heartbeat').at(-1)?.token).toBe('npn_token2');
    expect(lines.join('')).toMatch(/no longer accepts this node.*registering again/);
    expect(lines.join('')).not.toMatch(/npn_token|npe_enrolltoken/);
    await agent.stop(5_000);
  });

  it('after a heartbeat 401, retries slowly with one clear error when the enrollment token is refused too: never hammers', async () => {
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator, config(), probes(), { tokenSource: 'token file /etc/nodepulse/agent.token' });
    await agent.start();
    await vi.advanceTimersByTimeAsync(15_000);
    coordinator.heartbeatReply = () => new CoordinatorError('cluster_ReportNodeHeartbeat: HTTP 401 Unauthorized: Invalid token', 401, 'Unauthorized');
    coordinator.registerError = () => new CoordinatorError('cluster_RegisterNode: HTTP 401 Unauthorized: Invalid or revoked token', 401, 'Unauthorized');
    await vi.advanceTimersByTimeAsync(150_000);
    const [, ...retries] = coordinator.of('register');
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.length).toBeLessThanOrEqual(6);
    // Slow retry between registrations: between half and all of authRetryDelay (60 s).
    for (let i = 1; i < retries.length; i++) expect(retries[i]!.at - retries[i - 1]!.at).toBeGreaterThanOrEqual(30_000);
    const errors = lines.filter((l) => l.includes('registration refused'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/enrollment token from token file \/etc\/nodepulse\/agent.token is wrong, revoked/);
    await agent.stop(5_000);
  });

  it('retries a refused enrollment token slowly with one error, re-reading the token each time, and registers once it is rotated', async () => {
    const coordinator = new FakeCoordinator();
    let token = 'np_revoked_secret';
    coordinator.registerError = () => (coordinator.calls.at(-1)?.token === 'np_revoked_secret' ? new CoordinatorError('HTTP 401 Unauthorized: Invalid or revoked token', 401, 'Unauthorized') : undefined);
    const agent = makeAgent(coordinator, config(), probes(), { enrollToken: () => token, tokenSource: 'token file /etc/nodepulse/agent.token' });
    await agent.start();
    await vi.advanceTimersByTimeAsync(150_000);
    const attempts = coordinator.of('register');
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < attempts.length; i++) expect(attempts[i]!.at - attempts[i - 1]!.at).toBeGreaterThanOrEqual(30_000);
    const errors = lines.filter((l) => l.includes('registration refused'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/enrollment token from token file \/etc\/nodepulse\/agent.token is wrong, revoked/);
    token = 'np_rotated_secret';
    await vi.advanceTimersByTimeAsync(61_000);
    expect(coordinator.of('register').at(-1)?.token).toBe('np_rotated_secret');
    expect(agent.session.current?.nodeId).toBe('node-1');
    expect(lines.join('')).not.toMatch(/np_revoked_secret|np_rotated_secret/);
    await agent.stop(5_000);
  });

  it('keeps heartbeats on time while a health check hangs, and reports it critical', async () => {
    const coordinator = new FakeCoordinator();
    let checkRuns = 0;
    const agent = makeAgent(coordinator, config({ checks: [{ name: 'nfs', type: 'disk', path: '/mnt/nfs', interval: 5, timeout: 1 }] }), probes(), {
      runCheck: () => {
        checkRuns += 1;
        return new Promise(() => {});
      },
    });
    await agent.start();
    await vi.advanceTimersByTimeAsync(60_000);
    const beats = coordinator.of('heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < beats.length; i++) expect(beats[i]!.at - beats[i - 1]!.at).toBe(10_000);
    expect(checkRuns).toBe(1);
    expect(beats.at(-1)?.body.health).toMatchObject({ status: 'critical', checks: [{ name: 'nfs', status: 'critical', output: expect.stringMatching(/has not returned/) }] });
    await agent.stop(5_000);
  });

  it('tells systemd READY once heartbeating, pings the watchdog on every completed beat, and STOPPING on stop', async () => {
    const coordinator = new FakeCoordinator();
    const notifier = new FakeNotifier(120_000);
    const agent = makeAgent(coordinator, config(), probes(), { notifier });
    await agent.start();
    expect(notifier.sent.map((s) => s.message)).toEqual(['READY=1']);
    await vi.advanceTimersByTimeAsync(35_000);
    expect(notifier.count('WATCHDOG=1')).toBe(coordinator.calls.length);
    await agent.stop(5_000);
    expect(notifier.sent.at(-1)?.message).toBe('STOPPING=1');
    expect(lines.join('')).not.toMatch(/WatchdogSec/);
  });

  it('keeps pinging the watchdog while the coordinator is down, and stops when a beat never completes', async () => {
    const coordinator = new FakeCoordinator();
    coordinator.registerError = () => new CoordinatorError('ECONNREFUSED', undefined, undefined);
    const notifier = new FakeNotifier(120_000);
    const agent = makeAgent(coordinator, config(), probes(), { notifier });
    await agent.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(notifier.count('WATCHDOG=1')).toBe(coordinator.of('register').length);
    expect(notifier.count('WATCHDOG=1')).toBeGreaterThan(3);
    coordinator.registerError = undefined;
    coordinator.heartbeatReply = () => ({});
    await vi.advanceTimersByTimeAsync(15_000);
    const hung = new Promise<never>(() => {});
    coordinator.heartbeat = async (token, body) => {
      coordinator.calls.push({ action: 'heartbeat', token, body, at: Date.now() });
      return hung;
    };
    await vi.advanceTimersByTimeAsync(10_000);
    const pings = notifier.count('WATCHDOG=1');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(notifier.count('WATCHDOG=1')).toBe(pings);
    const stopped = agent.stop(2_000);
    await vi.advanceTimersByTimeAsync(3_000);
    await stopped;
  });

  it('warns when WatchdogSec is not longer than the longest legitimate pause between beats', async () => {
    const agent = makeAgent(new FakeCoordinator(), config(), probes(), { notifier: new FakeNotifier(30_000) });
    await agent.start();
    const warning = lines.find((l) => l.includes('WatchdogSec is not longer'));
    expect(JSON.parse(warning!)).toMatchObject({ level: 'warn', watchdogMs: 30_000, longestPauseMs: 65_000 });
    await agent.stop(5_000);
  });
});
