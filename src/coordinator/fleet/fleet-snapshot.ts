import type { InstanceSummary } from './instance-summary.ts';

/**
 * Every instance's summary as the store held it, in columns by row, ids ascending: the form a
 * worker thread can hand over without copying (typed arrays are transferred).
 */
export interface FleetSnapshot {
  ids: Int32Array;
  clusters: Int32Array;
  flags: Uint8Array;
  cpu: Float64Array;
  mem: Float64Array;
  adjustment: Float64Array;
  jobs: Float64Array;
  /** Index into regionNames; 0 is "no region". */
  regions: Int32Array;
  regionNames: string[];
  /**
   * Whether an instance missing from the snapshot is gone from the store. False when the read
   * was not one consistent view (paged while the number of instances changed).
   */
  complete: boolean;
}

/** Builds a snapshot row by row, in ascending id order, straight into growing columns. */
export class SnapshotBuilder {
  private count = 0;
  private readonly regionIndex = new Map<string, number>();
  private snapshot: FleetSnapshot = emptySnapshot(1024);

  add(id: number, summary: InstanceSummary): void {
    if (this.count === this.snapshot.ids.length) this.snapshot = resized(this.snapshot, this.count * 2);
    const { snapshot } = this;
    const row = this.count++;
    snapshot.ids[row] = id;
    snapshot.clusters[row] = summary.clusterId;
    snapshot.flags[row] = summary.flags;
    snapshot.cpu[row] = summary.cpu;
    snapshot.mem[row] = summary.mem;
    snapshot.adjustment[row] = summary.adjustment;
    snapshot.jobs[row] = summary.jobs;
    snapshot.regions[row] = summary.region === null ? 0 : this.intern(summary.region);
  }

  private intern(region: string): number {
    let index = this.regionIndex.get(region);
    if (index === undefined) this.regionIndex.set(region, (index = this.snapshot.regionNames.push(region) - 1));
    return index;
  }

  build(complete: boolean): FleetSnapshot {
    return { ...resized(this.snapshot, this.count), complete };
  }
}

function emptySnapshot(length: number): FleetSnapshot {
  return {
    ids: new Int32Array(length),
    clusters: new Int32Array(length),
    flags: new Uint8Array(length),
    cpu: new Float64Array(length),
    mem: new Float64Array(length),
    adjustment: new Float64Array(length),
    jobs: new Float64Array(length),
    regions: new Int32Array(length),
    regionNames: [''],
    complete: false,
  };
}

/** The same rows in columns of another length (cut or grown). */
function resized(snapshot: FleetSnapshot, length: number): FleetSnapshot {
  const next = emptySnapshot(length);
  const rows = Math.min(length, snapshot.ids.length);
  for (const key of ['ids', 'clusters', 'flags', 'cpu', 'mem', 'adjustment', 'jobs', 'regions'] as const) {
    (next[key] as Int32Array).set((snapshot[key] as Int32Array).subarray(0, rows));
  }
  return { ...next, regionNames: snapshot.regionNames, complete: snapshot.complete };
}

/** The typed arrays of a snapshot: what postMessage transfers instead of copying. */
export const snapshotBuffers = (snapshot: FleetSnapshot): ArrayBuffer[] =>
  [snapshot.ids, snapshot.clusters, snapshot.flags, snapshot.cpu, snapshot.mem, snapshot.adjustment, snapshot.jobs, snapshot.regions].map(
    (column) => column.buffer as ArrayBuffer,
  );

export function summaryAt(snapshot: FleetSnapshot, row: number): InstanceSummary {
  const region = snapshot.regions[row]!;
  return {
    clusterId: snapshot.clusters[row]!,
    flags: snapshot.flags[row]!,
    cpu: snapshot.cpu[row]!,
    mem: snapshot.mem[row]!,
    adjustment: snapshot.adjustment[row]!,
    jobs: snapshot.jobs[row]!,
    region: region === 0 ? null : snapshot.regionNames[region]!,
  };
}
