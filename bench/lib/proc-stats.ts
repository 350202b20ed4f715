import { readFileSync } from 'node:fs';

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system) a process has used so far, in milliseconds; with `tid`, one of its
 * threads only (the main thread's id is the pid: its CPU is the event loop's).
 */
export function cpuMs(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

/** Measures one process over a window: CPU share of one core, and RSS (last and peak). */
export class ProcessMeter {
  private startCpu = 0;
  private startMainCpu = 0;
  private startWall = 0;
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly pid: number) {}

  start(sampleMs = 250): void {
    this.startCpu = cpuMs(this.pid);
    this.startMainCpu = cpuMs(this.pid, this.pid);
    this.startWall = performance.now();
    this.peak = rssBytes(this.pid);
    this.timer = setInterval(() => {
      try {
        this.peak = Math.max(this.peak, rssBytes(this.pid));
      } catch {
        // The process has exited; stop() reports what was seen.
      }
    }, sampleMs);
  }

  /** CPU as a percentage of one core over the window (all threads; `mainThreadCpuMs`: the event loop's), RSS now and the peak seen. */
  stop(): { cpuPercent: number; cpuMs: number; mainThreadCpuMs: number; wallMs: number; rssBytes: number; peakRssBytes: number } {
    clearInterval(this.timer);
    const wallMs = performance.now() - this.startWall;
    const used = cpuMs(this.pid) - this.startCpu;
    const mainThreadCpuMs = cpuMs(this.pid, this.pid) - this.startMainCpu;
    const rss = rssBytes(this.pid);
    return { cpuPercent: (100 * used) / wallMs, cpuMs: used, mainThreadCpuMs, wallMs, rssBytes: rss, peakRssBytes: Math.max(this.peak, rss) };
  }
}

export const MIB = 1024 * 1024;
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** RSS after letting the process settle a moment (the median of 5 samples over `ms`). */
export async function settledRss(pid: number, ms: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(ms / 5);
    samples.push(rssBytes(pid));
  }
  samples.sort((a, b) => a - b);
  return samples[2] as number;
}
