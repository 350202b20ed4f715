import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPACITY_SETTINGS } from '../../../src/agent/capacity.ts';
import { FactsCollector, factsFingerprint } from '../../../src/agent/facts-collector.ts';
import type { Probes } from '../../../src/agent/probes.ts';

const GIB = 1024 ** 3;

function fakeProbes(overrides: Partial<Probes> = {}): Probes {
  return {
    hostname: () => 'web-1',
    cpu: async () => ({ cores: 4, model: 'Test CPU' }),
    os: async () => 'Debian 12',
    ipAddress: async () => '10.0.0.5',
    load: async () => ({ load1: 0.5, currentPercent: 12 }),
    memory: async () => ({ totalBytes: 4 * GIB, availableBytes: 3 * GIB }),
    disks: async (mounts) => mounts.filter((m) => m === '/').map((mount) => ({ mount, freeBytes: 10 * GIB, totalBytes: 20 * GIB })),
    cgroup: async () => undefined,
    ...overrides,
  };
}

const settings = {
  collectorTimeoutMs: 100,
  slowRefreshMs: 60_000,
  fastRefreshMs: 10_000,
  diskMounts: ['/'],
  capacity: DEFAULT_CAPACITY_SETTINGS,
  overrides: {},
};

describe('facts collector', () => {
  it('reports host facts with their source and AWX capacity', async () => {
    const collector = new FactsCollector(fakeProbes(), settings);
    await collector.collectAll();
    const facts = collector.facts();
    expect(facts).toMatchObject({
      hostname: 'web-1',
      ipAddress: '10.0.0.5',
      os: 'Debian 12',
      cpu: { cpus: 4, model: 'Test CPU', source: 'host' },
      memory: { totalBytes: 4 * GIB, availableBytes: 3 * GIB, source: 'host' },
      capacity: { cpuCapacity: 16, memCapacity: 20 },
      disks: [{ mount: '/', freeBytes: 10 * GIB, totalBytes: 20 * GIB }],
    });
    expect(facts.unknown).toBeUndefined();
    expect(typeof facts.agentVersion).toBe('string');
  });

  it('uses the cgroup limits of a container with their source', async () => {
    const cgroup = async () => ({ version: 2 as const, quotaCpus: 1.5, memoryLimitBytes: 3 * GIB, memoryUsageBytes: GIB, inactiveFileBytes: 0 });
    const collector = new FactsCollector(fakeProbes({ cgroup }), settings);
    await collector.collectAll();
    expect(collector.facts()).toMatchObject({
      cpu: { cpus: 1.5, source: 'cgroup' },
      memory: { totalBytes: 3 * GIB, availableBytes: 2 * GIB, source: 'cgroup' },
      capacity: { cpuCapacity: 6, memCapacity: 10 },
    });
  });

  it('reports a hanging probe as unknown with the reason, never as 0, and finishes within the timeout', async () => {
    const hang = () => new Promise<never>(() => {});
    const collector = new FactsCollector(fakeProbes({ cpu: hang }), settings);
    const started = Date.now();
    await collector.collectAll();
    expect(Date.now() - started).toBeLessThan(1_000);
    const facts = collector.facts();
    expect(facts.cpu).toBeUndefined();
    expect(facts.capacity).toBeUndefined();
    expect(facts.unknown).toEqual(
      expect.arrayContaining([
        { figure: 'cpu', reason: 'cpu timed out after 100 ms' },
        { figure: 'capacity', reason: 'needs cpu and memory' },
      ]),
    );
    expect(facts.memory?.totalBytes).toBe(4 * GIB);
  });

  it('retries a failed probe on the next refresh without piling up calls to a hung one', async () => {
    let cpuCalls = 0;
    let failing = true;
    const cpu = async () => {
      cpuCalls += 1;
      if (failing) throw new Error('boom');
      return { cores: 2 };
    };
    let diskCalls = 0;
    const disks = () => {
      diskCalls += 1;
      return new Promise<never>(() => {});
    };
    const collector = new FactsCollector(fakeProbes({ cpu, disks }), settings);
    await collector.collectAll();
    expect(collector.facts().unknown).toContainEqual({ figure: 'cpu', reason: 'boom' });
    failing = false;
    await collector.collectAll();
    expect(collector.facts().cpu).toEqual({ cpus: 2, source: 'host' });
    expect(cpuCalls).toBe(2);
    expect(diskCalls).toBe(1);
  });

  it('uses the advertised address and cpu/memory overrides when configured', async () => {
    const collector = new FactsCollector(fakeProbes(), { ...settings, advertiseAddress: '192.0.2.1', overrides: { cpus: 8, memoryBytes: 8 * GIB } });
    await collector.collectAll();
    expect(collector.facts()).toMatchObject({ ipAddress: '192.0.2.1', cpu: { cpus: 8, source: 'override' }, capacity: { cpuCapacity: 32, memCapacity: 61 } });
  });

  it('ignores drifting load and free figures when deciding whether facts changed', () => {
    const base = { hostname: 'a', load: { load1: 1 }, memory: { totalBytes: 10, availableBytes: 5, source: 'host' as const } };
    const drifted = { ...base, load: { load1: 2 }, memory: { ...base.memory, availableBytes: 4 } };
    expect(factsFingerprint(drifted)).toBe(factsFingerprint(base));
    expect(factsFingerprint({ ...base, hostname: 'b' })).not.toBe(factsFingerprint(base));
  });

  it('runs cpu and os, on any later collection, only while they are unknown', async () => {
    let cpuCalls = 0;
    const cpu = async () => {
      cpuCalls += 1;
      if (cpuCalls === 1) throw new Error('not yet');
      return { cores: 2 };
    };
    const collector = new FactsCollector(fakeProbes({ cpu }), settings);
    await collector.collectAll();
    expect(collector.periodicSlow()).toEqual(['cpu', 'ipAddress', 'load', 'disks']);
    await collector.refresh(collector.periodicSlow());
    expect(collector.facts().cpu?.cpus).toBe(2);
    expect(collector.periodicSlow()).toEqual(['ipAddress', 'load', 'disks']);
    await collector.collectAll();
    expect(cpuCalls).toBe(2);
  });
});
