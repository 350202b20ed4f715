import { describe, expect, it } from 'vitest';
import { adjustedCapacity, computeCapacity, cpuCapacity, memCapacity } from '../../../src/agent/capacity.ts';

const GIB = 1024 ** 3;

describe('AWX capacity formulas', () => {
  it('gives 16 cpu capacity and 20 memory capacity for 4 cores and 4 GiB', () => {
    expect(computeCapacity(4, 4 * GIB)).toEqual({ cpuCapacity: 16, memCapacity: 20 });
  });

  it('interpolates to 18 with a capacity adjustment of 0.5, and to the ends at 0 and 1', () => {
    expect(adjustedCapacity(16, 20, 0.5)).toBe(18);
    expect(adjustedCapacity(16, 20, 0)).toBe(16);
    expect(adjustedCapacity(16, 20, 1)).toBe(20);
  });

  it('uses fractional container cpus: 1.5 cpus give 6, 0.2 cpus still give 1', () => {
    expect(cpuCapacity(1.5)).toBe(6);
    expect(cpuCapacity(0.2)).toBe(1);
  });

  it('never goes below 1 when memory is under the reserve', () => {
    expect(memCapacity(1 * GIB)).toBe(1);
  });

  it('honours configured forks per cpu, memory per fork and reserve', () => {
    const settings = { forksPerCpu: 2, memPerForkMib: 200, memReservedMib: 1024 };
    expect(computeCapacity(3, 8 * GIB, settings)).toEqual({ cpuCapacity: 6, memCapacity: 35 });
  });

  it('reports capacity as unknown (not 0) when cpu or memory is unknown', () => {
    expect(computeCapacity(undefined, 4 * GIB)).toBeUndefined();
    expect(computeCapacity(4, undefined)).toBeUndefined();
  });
});
