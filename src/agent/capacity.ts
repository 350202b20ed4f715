/**
 * AWX's capacity formulas, computed on the agent from its own configuration. The coordinator
 * applies each instance's `capacity_adjustment` to the two figures the agent reports.
 */
export interface CapacitySettings {
  /** Forks per cpu (AWX default 4). */
  forksPerCpu: number;
  /** MiB of memory per fork (AWX default 100). */
  memPerForkMib: number;
  /** MiB of memory kept for the system (AWX default 2048). */
  memReservedMib: number;
}

export const DEFAULT_CAPACITY_SETTINGS: CapacitySettings = Object.freeze({
  forksPerCpu: 4,
  memPerForkMib: 100,
  memReservedMib: 2048,
});

const MIB = 1024 * 1024;

/** cpu_capacity = max(1, floor(cpus × forks per cpu)); cpus may be a fraction (cgroup quota). */
export function cpuCapacity(cpus: number, settings: CapacitySettings = DEFAULT_CAPACITY_SETTINGS): number {
  return Math.max(1, Math.floor(cpus * settings.forksPerCpu));
}

/** mem_capacity = max(1, floor((memory MiB − reserved MiB) / MiB per fork)). */
export function memCapacity(memoryBytes: number, settings: CapacitySettings = DEFAULT_CAPACITY_SETTINGS): number {
  const memoryMib = memoryBytes / MIB;
  return Math.max(1, Math.floor((memoryMib - settings.memReservedMib) / settings.memPerForkMib));
}

/** capacity = min + (max − min) × adjustment, adjustment in 0..1 (AWX rounds down). */
export function adjustedCapacity(cpuCap: number, memCap: number, adjustment = 1): number {
  const clamped = Math.min(1, Math.max(0, adjustment));
  const low = Math.min(cpuCap, memCap);
  const high = Math.max(cpuCap, memCap);
  return Math.floor(low + (high - low) * clamped);
}

export interface CapacityFigures {
  cpuCapacity: number;
  memCapacity: number;
}

/** Both figures, or undefined when either input is unknown: capacity unknown is not capacity 0. */
export function computeCapacity(
  cpus: number | undefined,
  memoryBytes: number | undefined,
  settings: CapacitySettings = DEFAULT_CAPACITY_SETTINGS,
): CapacityFigures | undefined {
  if (cpus === undefined || memoryBytes === undefined) return undefined;
  return { cpuCapacity: cpuCapacity(cpus, settings), memCapacity: memCapacity(memoryBytes, settings) };
}
