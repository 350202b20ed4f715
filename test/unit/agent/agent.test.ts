import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../../src/agent/agent.ts';
import { AgentConfigSchema, type AgentConfig } from '../../../src/agent/config.ts';
import { type Coordinator, CoordinatorError } from '../../../src/agent/coordinator-client.ts';
import type { Probes } from '../../../src/agent/probes.ts';
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
  registerError: (() => Error | undefined) | undefined;
  heartbeatReply: () => HeartbeatResponse | Error = () => ({});
  deregisterHangs = false;
  async register(token: string, body: RegisterNodeRequest) {
    this.calls.push({ action: 'register', token, body, at: Date.now() });
    const error = this.registerError?.();
    if (error) throw error;
    this.nodes += 1;
    return { nodeId: `node-${this.nodes}`, nodeToken: `npn_token${this.nodes}`, heartbeatIntervalSecs: 10 };
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

function config(extra: Record<string, unknown> = {}): AgentConfig {
  return loadConfig(AgentConfigSchema, {
    flags: { coordinator: 'http://x', heartbeatInterval: 10, collectorTimeout: 1, retryMaxDelay: 8, authRetryDelay: 60, labels: { zone: 'a' }, ...extra },
  });
}

let lines: string[] = [];
const logger = () =>
  createLogger({ level: 'debug', component: 'agent', pretty: false, stream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });

function makeAgent(coordinator: FakeCoordinator, cfg = config(), p = probes()) {
  return new Agent({ config: cfg, logger: logger(), coordinator, enrollToken: () => 'npe_enrolltoken', probes: p, identity: 'id-1', bootId: 'boot-1' });
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

  it('registers again with a new node when the coordinator answers 410 or 404', async () => {
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(15_000);
    coordinator.heartbeatReply = () => new CoordinatorError('gone', 410, 'NodeTerminated');
    await vi.advanceTimersByTimeAsync(10_000);
    coordinator.heartbeatReply = () => ({});
    await vi.advanceTimersByTimeAsync(20_000);
    expect(coordinator.of('register')).toHaveLength(2);
    expect(coordinator.of('heartbeat').at(-1)?.token).toBe('npn_token2');
    expect(lines.join('')).toMatch(/registering again/);
    await agent.stop(5_000);
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

  it('sends new labels with the next heartbeat after a reload, without registering again', async () => {
    const coordinator = new FakeCoordinator();
    const agent = makeAgent(coordinator);
    await agent.start();
    await vi.advanceTimersByTimeAsync(15_000);
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
});
