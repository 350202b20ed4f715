/**
 * The share of CPU time the host spent busy between two readings of the kernel's counters: the
 * figure `si.currentLoad()` reports, without its `execSync('cat /proc/stat | grep cpu')`, which
 * blocks the event loop while a shell and two processes run.
 */
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';

export interface CpuTimes {
  busy: number;
  total: number;
}

/**
 * The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal, in
 * clock ticks (guest time is already inside user and nice). Idle and iowait count as idle.
 */
export function parseProcStat(text: string): CpuTimes | undefined {
  const fields = (text.split('\n', 1)[0] ?? '').trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 5) return undefined;
  const values = fields.slice(1, 9).map(Number);
  if (values.some((value) => !Number.isFinite(value))) return undefined;
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: total - (values[3] ?? 0) - (values[4] ?? 0), total };
}

/** /proc/stat on Linux; elsewhere the per-cpu times Node reports, summed. */
async function readCpuTimes(): Promise<CpuTimes | undefined> {
  try {
    return parseProcStat(await readFile('/proc/stat', 'utf8'));
  } catch {
    let busy = 0;
    let total = 0;
    for (const { times } of cpus()) {
      busy += times.user + times.nice + times.sys + times.irq;
      total += times.user + times.nice + times.sys + times.irq + times.idle;
    }
    return total > 0 ? { busy, total } : undefined;
  }
}

/** Busy percent (0-100, one decimal) from `before` to `after`; undefined when no time passed. */
export function busyPercent(before: CpuTimes, after: CpuTimes): number | undefined {
  const total = after.total - before.total;
  if (!(total > 0)) return undefined;
  const percent = (100 * (after.busy - before.busy)) / total;
  return Math.min(100, Math.max(0, Math.round(percent * 10) / 10));
}

export interface CpuLoadOptions {
  read?: () => Promise<CpuTimes | undefined>;
  /** Waits without blocking; injected so tests need no real time. */
  wait?: (ms: number) => Promise<void>;
  /** The first reading has nothing to compare with: it samples over this window. */
  firstWindowMs?: number;
}

const realWait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Busy percent since the previous call: over the first window at start, then over the time
 * between refreshes (a 5-minute average at the default `factsRefreshInterval`).
 */
export class CpuLoad {
  private readonly read: () => Promise<CpuTimes | undefined>;
  private readonly wait: (ms: number) => Promise<void>;
  private readonly firstWindowMs: number;
  private last: CpuTimes | undefined;

  constructor(options: CpuLoadOptions = {}) {
    this.read = options.read ?? readCpuTimes;
    this.wait = options.wait ?? realWait;
    this.firstWindowMs = options.firstWindowMs ?? 500;
  }

  async percent(): Promise<number | undefined> {
    if (!this.last) {
      this.last = await this.read();
      await this.wait(this.firstWindowMs);
    }
    const now = await this.read();
    const before = this.last;
    if (now) this.last = now;
    return before && now ? busyPercent(before, now) : undefined;
  }
}
