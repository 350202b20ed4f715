/**
 * Collects the node's facts off the heartbeat path and caches them. The probes that run commands
 * (cpu model, OS) run at start-up only; the slow refresh (address, cpu busy share, disks) and the
 * fast one (memory, cgroup limits) spawn nothing and never block the event loop. Every probe has a timeout; a probe that fails or times
 * out leaves its figure unknown, with the reason, and is tried again on the next refresh (never
 * while its previous call is still pending). Readers get the cached facts synchronously.
 */
import { loadavg } from 'node:os';
import type { NodeFacts } from '../shared/protocol.ts';
import { VERSION } from '../shared/version.ts';
import type { CgroupLimits } from './cgroup.ts';
import { type CapacitySettings, computeCapacity } from './capacity.ts';
import type { DiskFigures } from './disks.ts';
import type { Probes } from './probes.ts';
import { type Overrides, effectiveCpu, effectiveMemory } from './resources.ts';

export interface FactsSettings {
  collectorTimeoutMs: number;
  slowRefreshMs: number;
  fastRefreshMs: number;
  diskMounts: readonly string[];
  advertiseAddress?: string | undefined;
  capacity: CapacitySettings;
  overrides: Overrides;
}

interface Cache {
  cpu?: { cores: number; model?: string };
  os?: string;
  ipAddress?: string;
  currentPercent?: number;
  memory?: { totalBytes: number; availableBytes: number };
  disks?: DiskFigures[];
  cgroup?: CgroupLimits | undefined;
  cgroupRead?: boolean;
}

type ProbeName = 'cpu' | 'os' | 'ipAddress' | 'load' | 'memory' | 'disks' | 'cgroup';
const SLOW: readonly ProbeName[] = ['cpu', 'os', 'ipAddress', 'load', 'disks'];
const FAST: readonly ProbeName[] = ['memory', 'cgroup'];
/**
 * si.cpu() and si.osInfo() run commands (and stall the event loop for milliseconds, more on a
 * busy host), and their answers do not change while the host runs: they run at start-up and
 * again only while unknown, so no collection after the first one can delay a heartbeat.
 */
const ONCE: readonly ProbeName[] = ['cpu', 'os'];

export class TimeoutError extends Error {}

/** Resolves with the promise's value or rejects after `ms`; the timer never keeps the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class FactsCollector {
  private readonly probes: Probes;
  private readonly settings: FactsSettings;
  private readonly cache: Cache = {};
  private readonly unknown = new Map<string, string>();
  private readonly pending = new Map<ProbeName, Promise<unknown>>();
  private timers: NodeJS.Timeout[] = [];
  private version = 0;
  /** Milliseconds the last full collection took. */
  lastCollectionMs: number | undefined;

  constructor(probes: Probes, settings: FactsSettings) {
    this.probes = probes;
    this.settings = settings;
  }

  /** Collects everything once (bounded by the probe timeout), then refreshes on schedule. */
  start(): Promise<void> {
    const first = this.collectAll();
    this.timers.push(setInterval(() => void this.refresh(this.periodicSlow()), this.settings.slowRefreshMs));
    this.timers.push(setInterval(() => void this.refresh(FAST), this.settings.fastRefreshMs));
    for (const timer of this.timers) timer.unref();
    return first;
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /** One full collection (start, `agent facts`, a requested health check): every probe but the known start-up ones. */
  async collectAll(): Promise<void> {
    const started = performance.now();
    await this.refresh([...this.periodicSlow(), ...FAST]);
    this.lastCollectionMs = Math.round((performance.now() - started) * 10) / 10;
  }

  /** The slow probes of a refresh: cpu and os only while still unknown. */
  periodicSlow(): ProbeName[] {
    const known = { cpu: this.cache.cpu !== undefined, os: this.cache.os !== undefined } as Record<string, boolean>;
    return SLOW.filter((name) => !ONCE.includes(name) || !known[name]);
  }

  /** Bumps whenever a refresh completes, so senders can tell fresh facts from cached ones. */
  get generation(): number {
    return this.version;
  }

  async refresh(names: readonly ProbeName[]): Promise<void> {
    await Promise.all(names.map((name) => this.runProbe(name)));
    this.version += 1;
  }

  private runProbe(name: ProbeName): Promise<unknown> {
    const hung = this.pending.get(name);
    if (hung) return Promise.resolve(); // still waiting on an earlier call: do not pile up another
    const raw = this.call(name);
    this.pending.set(name, raw);
    // The raw call may outlive its timeout (a hung mount): it stays "pending" until it settles.
    raw.then(
      () => {
        this.pending.delete(name);
        this.unknown.delete(name);
      },
      () => this.pending.delete(name),
    );
    return withTimeout(raw, this.settings.collectorTimeoutMs, name).catch((error: unknown) => this.unknown.set(name, (error as Error).message || String(error)));
  }

  private async call(name: ProbeName): Promise<void> {
    const p = this.probes;
    switch (name) {
      case 'cpu':
        this.cache.cpu = await p.cpu();
        return;
      case 'os':
        this.cache.os = await p.os();
        return;
      case 'ipAddress':
        if (this.settings.advertiseAddress) return;
        this.cache.ipAddress = await p.ipAddress();
        return;
      case 'load':
        this.cache.currentPercent = (await p.load()).currentPercent;
        return;
      case 'memory':
        this.cache.memory = await p.memory();
        return;
      case 'disks':
        this.cache.disks = await p.disks(this.settings.diskMounts);
        return;
      case 'cgroup':
        this.cache.cgroup = await p.cgroup();
        this.cache.cgroupRead = true;
    }
  }

  /** The cached facts: figures never collected are left out and listed in `unknown`. */
  facts(): NodeFacts {
    const c = this.cache;
    const cgroup = c.cgroup;
    const host = { cpus: c.cpu?.cores, totalMemoryBytes: c.memory?.totalBytes, availableMemoryBytes: c.memory?.availableBytes };
    const cpu = effectiveCpu(host, cgroup, this.settings.overrides);
    const memory = effectiveMemory(host, cgroup, this.settings.overrides);
    const capacity = computeCapacity(cpu?.cpus, memory?.totalBytes, this.settings.capacity);
    const facts: NodeFacts = {
      hostname: this.probes.hostname(),
      agentVersion: VERSION,
      load: { load1: round2(loadavg()[0] ?? 0), ...(c.currentPercent !== undefined ? { currentPercent: c.currentPercent } : {}) },
    };
    const ip = this.settings.advertiseAddress ?? c.ipAddress;
    if (ip) facts.ipAddress = ip;
    if (c.os) facts.os = c.os;
    if (cpu) facts.cpu = { cpus: cpu.cpus, source: cpu.source, ...(c.cpu?.model ? { model: c.cpu.model } : {}) };
    if (memory) facts.memory = memory;
    if (capacity) facts.capacity = capacity;
    if (c.disks) facts.disks = c.disks;
    const unknown = this.unknownFigures(cpu !== undefined, memory !== undefined, capacity !== undefined);
    if (unknown.length > 0) facts.unknown = unknown;
    return facts;
  }

  private unknownFigures(hasCpu: boolean, hasMemory: boolean, hasCapacity: boolean): { figure: string; reason: string }[] {
    const out: { figure: string; reason: string }[] = [];
    const reason = (name: ProbeName) => this.unknown.get(name) ?? 'not collected yet';
    if (!hasCpu) out.push({ figure: 'cpu', reason: reason('cpu') });
    if (!hasMemory) out.push({ figure: 'memory', reason: reason('memory') });
    if (!hasCapacity) out.push({ figure: 'capacity', reason: `needs cpu and memory` });
    for (const name of ['os', 'ipAddress', 'disks', 'load', 'cgroup'] as const) {
      if (this.unknown.has(name)) out.push({ figure: name, reason: reason(name).slice(0, 1024) });
    }
    if (this.cache.disks) {
      for (const mount of this.settings.diskMounts) {
        if (!this.cache.disks.some((d) => d.mount === mount)) out.push({ figure: `disk:${mount}`, reason: 'not a mount point' });
      }
    }
    return out.slice(0, 64);
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The part of the facts that, when it changes, is worth sending (load and free figures drift). */
export function factsFingerprint(facts: NodeFacts): string {
  const { load: _load, memory, disks, ...rest } = facts;
  return JSON.stringify({
    ...rest,
    memory: memory ? { totalBytes: memory.totalBytes, source: memory.source } : undefined,
    disks: disks?.map((d) => ({ mount: d.mount, totalBytes: d.totalBytes })),
  });
}
