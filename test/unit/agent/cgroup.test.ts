import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countCpuList, parseLimitBytes, readCgroupLimits } from '../../../src/agent/cgroup.ts';
import { effectiveCpu, effectiveMemory } from '../../../src/agent/resources.ts';
import { computeCapacity } from '../../../src/agent/capacity.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'cgroup');
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const host = { cpus: 8, totalMemoryBytes: 16 * GIB, availableMemoryBytes: 12 * GIB };

async function limits(name: string, selfCgroup = '0::/\n') {
  return readCgroupLimits({ root: join(FIXTURES, name), selfCgroup });
}

describe('cgroup v2', () => {
  it('reads a 1.5-cpu quota and a 1 GiB memory limit, and reports them as the cgroup figures', async () => {
    const cg = await limits('v2-limited');
    expect(cg).toMatchObject({ version: 2, quotaCpus: 1.5, cpusetCpus: 4, memoryLimitBytes: GIB });
    expect(effectiveCpu(host, cg)).toEqual({ cpus: 1.5, source: 'cgroup' });
    // available = limit − (usage − inactive_file) = 1024 − (512 − 128) MiB
    expect(effectiveMemory(host, cg)).toEqual({ totalBytes: GIB, availableBytes: 640 * MIB, source: 'cgroup' });
    expect(computeCapacity(1.5, GIB)).toEqual({ cpuCapacity: 6, memCapacity: 1 });
  });

  it('treats "max" as unlimited and falls back to the host memory but the cpuset size for cpus', async () => {
    const cg = await limits('v2-unlimited');
    expect(cg?.memoryLimitBytes).toBeUndefined();
    expect(cg?.quotaCpus).toBeUndefined();
    expect(effectiveCpu(host, cg)).toEqual({ cpus: 2, source: 'cgroup' });
    expect(effectiveMemory(host, cg)).toEqual({ totalBytes: 16 * GIB, availableBytes: 12 * GIB, source: 'host' });
  });

  it('takes the tightest limit on the path from its own cgroup up to the root', async () => {
    const cg = await limits('v2-nested', '0::/kubepods/pod1\n');
    expect(cg).toMatchObject({ quotaCpus: 0.5, cpusetCpus: 8, memoryLimitBytes: 2 * GIB });
    expect(effectiveCpu(host, cg)).toEqual({ cpus: 0.5, source: 'cgroup' });
    expect(effectiveMemory(host, cg)).toEqual({ totalBytes: 2 * GIB, availableBytes: 1280 * MIB, source: 'cgroup' });
  });
});

describe('cgroup v1', () => {
  it('reads cfs quota/period, cpuset, memory.limit_in_bytes and total_inactive_file', async () => {
    const cg = await limits('v1-limited', '4:memory:/\n3:cpuset:/\n1:cpu:/\n');
    expect(cg).toMatchObject({ version: 1, quotaCpus: 0.5, cpusetCpus: 4, memoryLimitBytes: 2 * GIB });
    expect(effectiveCpu(host, cg)).toEqual({ cpus: 0.5, source: 'cgroup' });
    // 2048 − (1536 − 512) MiB
    expect(effectiveMemory(host, cg)).toEqual({ totalBytes: 2 * GIB, availableBytes: 1024 * MIB, source: 'cgroup' });
  });

  it('treats quota -1 and the 9223372036854771712 sentinel as unlimited', async () => {
    const cg = await limits('v1-unlimited');
    expect(cg?.quotaCpus).toBeUndefined();
    expect(cg?.memoryLimitBytes).toBeUndefined();
    expect(effectiveMemory(host, cg)?.source).toBe('host');
  });
});

describe('without a cgroup', () => {
  it('reports the host figures when no cgroup filesystem exists', async () => {
    expect(await limits('does-not-exist')).toBeUndefined();
    expect(effectiveCpu(host, undefined)).toEqual({ cpus: 8, source: 'host' });
  });

  it('lets overrides win and says so', () => {
    expect(effectiveCpu(host, undefined, { cpus: 3 })).toEqual({ cpus: 3, source: 'override' });
    expect(effectiveMemory(host, undefined, { memoryBytes: 4 * GIB })?.source).toBe('override');
  });

  it('keeps cpu unknown when the host figure is unknown and no cgroup limit applies', () => {
    expect(effectiveCpu({}, undefined)).toBeUndefined();
  });
});

describe('parsers', () => {
  it('counts cpu lists and rejects garbage', () => {
    expect(countCpuList('0-3,5,7-8')).toBe(7);
    expect(countCpuList('x')).toBeUndefined();
  });

  it('parses byte limits with the unlimited sentinels', () => {
    expect(parseLimitBytes('max')).toBeUndefined();
    expect(parseLimitBytes('9223372036854775807')).toBeUndefined();
    expect(parseLimitBytes('1073741824')).toBe(GIB);
  });
});
