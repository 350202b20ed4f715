import type { InstanceTally } from '../store/store.ts';
import type { FleetSnapshot } from './fleet-snapshot.ts';
import { type InstanceSummary, addToTally, emptyTally } from './instance-summary.ts';

const INITIAL_CAPACITY = 1024;

function grown<T extends Int32Array | Uint8Array | Uint32Array | Float64Array>(array: T, length: number): T {
  if (length <= array.length) return array;
  const next = new (array.constructor as new (length: number) => T)(Math.max(length, array.length * 2));
  next.set(array);
  return next;
}

/**
 * Every instance's summary in columns indexed by instance id (ids are the store's sequence, so
 * dense), about 45 bytes an instance, and each cluster's tally and region labels kept in step
 * with them: a read costs a map lookup, a change one instance's share taken away and added back.
 * Each change is stamped with a sequence number, so a slower look at the store can tell which
 * instances changed after it began (see FleetCounts).
 */
export class FleetTable {
  private clusters = new Int32Array(INITIAL_CAPACITY);
  private flags = new Uint8Array(INITIAL_CAPACITY);
  private cpu = new Float64Array(INITIAL_CAPACITY);
  private mem = new Float64Array(INITIAL_CAPACITY);
  private adjustment = new Float64Array(INITIAL_CAPACITY);
  private jobs = new Float64Array(INITIAL_CAPACITY);
  private regions = new Int32Array(INITIAL_CAPACITY);
  private stamps = new Uint32Array(INITIAL_CAPACITY);
  /** Region label texts, interned: index 0 is "no region". */
  private readonly regionNames: string[] = [''];
  private readonly regionIndex = new Map<string, number>();
  private readonly tallies = new Map<number, InstanceTally>();
  private readonly regionCounts = new Map<number, Map<number, number>>();
  private sequence = 0;
  /** One past the highest id ever held. */
  private end = 1;

  /** The stamp of the latest change. */
  get stamp(): number {
    return this.sequence;
  }

  /** The stamp of the latest change to this instance (0: none since start). */
  stampOf(id: number): number {
    return id < this.stamps.length ? (this.stamps[id] ?? 0) : 0;
  }

  get idLimit(): number {
    return this.end;
  }

  has(id: number): boolean {
    return id < this.clusters.length && this.clusters[id] !== 0;
  }

  get(id: number): InstanceSummary | undefined {
    const clusterId = id < this.clusters.length ? (this.clusters[id] ?? 0) : 0;
    if (clusterId === 0) return undefined;
    return {
      clusterId,
      flags: this.flags[id]!,
      cpu: this.cpu[id]!,
      mem: this.mem[id]!,
      adjustment: this.adjustment[id]!,
      jobs: this.jobs[id]!,
      region: this.regions[id] === 0 ? null : this.regionNames[this.regions[id]!]!,
    };
  }

  /** Whether the instance holds what the snapshot's row says: compared in place, as a reconcile checks every instance. */
  holdsRow(id: number, snapshot: FleetSnapshot, row: number): boolean {
    return (
      id < this.clusters.length &&
      this.clusters[id] === snapshot.clusters[row] &&
      this.flags[id] === snapshot.flags[row] &&
      this.cpu[id] === snapshot.cpu[row] &&
      this.mem[id] === snapshot.mem[row] &&
      this.adjustment[id] === snapshot.adjustment[row] &&
      this.jobs[id] === snapshot.jobs[row] &&
      this.regionNames[this.regions[id]!] === snapshot.regionNames[snapshot.regions[row]!]
    );
  }

  /** Stores the instance's summary (a change: stamped). */
  set(id: number, summary: InstanceSummary): void {
    this.write(id, summary);
    this.touch(id);
  }

  /** Stores what the store said, without a stamp (it is not a change made here). */
  adopt(id: number, summary: InstanceSummary | undefined): void {
    if (summary) this.write(id, summary);
    else this.remove(id);
  }

  delete(id: number): void {
    this.remove(id);
    this.touch(id);
  }

  private write(id: number, summary: InstanceSummary): void {
    this.remove(id);
    this.ensure(id + 1);
    this.clusters[id] = summary.clusterId;
    this.flags[id] = summary.flags;
    this.cpu[id] = summary.cpu;
    this.mem[id] = summary.mem;
    this.adjustment[id] = summary.adjustment;
    this.jobs[id] = summary.jobs;
    this.regions[id] = this.intern(summary.region);
    this.share(id, summary, 1);
  }

  private remove(id: number): void {
    const old = this.get(id);
    if (!old) return;
    this.share(id, old, -1);
    this.clusters[id] = 0;
  }

  private touch(id: number): void {
    this.ensure(id + 1);
    this.sequence += 1;
    this.stamps[id] = this.sequence;
  }

  /** Adds or takes away the instance's share of its cluster's tally and region labels. */
  private share(id: number, summary: InstanceSummary, sign: 1 | -1): void {
    let tally = this.tallies.get(summary.clusterId);
    if (!tally) this.tallies.set(summary.clusterId, (tally = emptyTally(summary.clusterId)));
    addToTally(tally, summary, sign);
    // A cluster without instances has no tally, as in the store's answer.
    if (tally.instances === 0) this.tallies.delete(summary.clusterId);
    const region = this.regions[id]!;
    if (region === 0) return;
    let counts = this.regionCounts.get(summary.clusterId);
    if (!counts) this.regionCounts.set(summary.clusterId, (counts = new Map()));
    const count = (counts.get(region) ?? 0) + sign;
    if (count === 0) counts.delete(region);
    else counts.set(region, count);
  }

  private intern(region: string | null): number {
    if (region === null) return 0;
    let index = this.regionIndex.get(region);
    if (index === undefined) {
      index = this.regionNames.push(region) - 1;
      this.regionIndex.set(region, index);
    }
    return index;
  }

  private ensure(length: number): void {
    this.end = Math.max(this.end, length);
    this.clusters = grown(this.clusters, length);
    this.flags = grown(this.flags, length);
    this.cpu = grown(this.cpu, length);
    this.mem = grown(this.mem, length);
    this.adjustment = grown(this.adjustment, length);
    this.jobs = grown(this.jobs, length);
    this.regions = grown(this.regions, length);
    this.stamps = grown(this.stamps, length);
  }

  tally(clusterId: number): InstanceTally | undefined {
    const tally = this.tallies.get(clusterId);
    return tally && { ...tally };
  }

  /** Every cluster with instances, by id. */
  allTallies(): InstanceTally[] {
    return [...this.tallies.values()].map((tally) => ({ ...tally })).sort((a, b) => a.clusterId - b.clusterId);
  }

  /** The distinct region labels of the cluster's instances. */
  regionLabels(clusterId: number): string[] {
    return [...(this.regionCounts.get(clusterId)?.keys() ?? [])].map((index) => this.regionNames[index]!);
  }
}
