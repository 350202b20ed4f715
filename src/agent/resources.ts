/**
 * Pure: combines the host's figures with the cgroup's limits into the effective cpu and memory
 * the agent reports, each with its source. A cgroup figure wins only when it is tighter.
 */
import type { CgroupLimits } from './cgroup.ts';

export type Source = 'host' | 'cgroup' | 'override';

export interface HostFigures {
  cpus?: number;
  totalMemoryBytes?: number;
  /** MemAvailable (the working-set view), not MemFree. */
  availableMemoryBytes?: number;
}

export interface Overrides {
  cpus?: number | undefined;
  memoryBytes?: number | undefined;
}

export interface EffectiveCpu {
  cpus: number;
  source: Source;
}

export interface EffectiveMemory {
  totalBytes: number;
  availableBytes?: number;
  source: Source;
}

/** effective cpus = min(host, cpuset size, quota / period), a fraction under a quota. */
export function effectiveCpu(host: HostFigures, cgroup: CgroupLimits | undefined, overrides: Overrides = {}): EffectiveCpu | undefined {
  if (overrides.cpus !== undefined) return { cpus: overrides.cpus, source: 'override' };
  const limits = [cgroup?.cpusetCpus, cgroup?.quotaCpus].filter((v): v is number => v !== undefined && v > 0);
  const cgroupCpus = limits.length > 0 ? Math.min(...limits) : undefined;
  if (cgroupCpus !== undefined && (host.cpus === undefined || cgroupCpus < host.cpus)) {
    return { cpus: round(cgroupCpus), source: 'cgroup' };
  }
  return host.cpus === undefined ? undefined : { cpus: host.cpus, source: 'host' };
}

/**
 * memory = min(host, cgroup limit); available under a limit = limit − (usage − inactive_file),
 * the working set the kernel would not reclaim.
 */
export function effectiveMemory(host: HostFigures, cgroup: CgroupLimits | undefined, overrides: Overrides = {}): EffectiveMemory | undefined {
  if (overrides.memoryBytes !== undefined) {
    return withAvailable({ totalBytes: overrides.memoryBytes, source: 'override' }, host.availableMemoryBytes);
  }
  const limit = cgroup?.memoryLimitBytes;
  if (limit !== undefined && (host.totalMemoryBytes === undefined || limit < host.totalMemoryBytes)) {
    const usage = cgroup?.memoryUsageBytes;
    const workingSet = usage === undefined ? undefined : Math.max(0, usage - (cgroup?.inactiveFileBytes ?? 0));
    const available = workingSet === undefined ? undefined : Math.max(0, limit - workingSet);
    return withAvailable({ totalBytes: limit, source: 'cgroup' }, available);
  }
  if (host.totalMemoryBytes === undefined) return undefined;
  return withAvailable({ totalBytes: host.totalMemoryBytes, source: 'host' }, host.availableMemoryBytes);
}

function withAvailable(memory: EffectiveMemory, available: number | undefined): EffectiveMemory {
  if (available === undefined) return memory;
  return { ...memory, availableBytes: Math.min(Math.round(available), memory.totalBytes) };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
