/**
 * The raw fact sources. `systemProbes` uses systeminformation where it is needed and Node's own
 * cheap calls where they are enough; tests and fault injection replace single probes.
 *
 * Cost per call (measured on a 2-core VM, see docs/agent.md): `si.cpu()` ~12-27 ms and
 * `si.osInfo()` ~17-34 ms (they run commands), so they run at start-up only; `si.mem()` ~0.3 ms
 * (reads /proc/meminfo). The periodic probes spawn nothing and never block the event loop:
 * load from /proc/stat (cpu-load.ts, not `si.currentLoad()`, which runs `execSync`), disks from
 * statfs (disks.ts, not `si.fsSize()`, which runs `df`), and the primary address from
 * os.networkInterfaces() and /proc/net/route (not `si.networkInterfaces()`, which blocks the
 * event loop for ~90 ms and spawns dozens of processes per call).
 */
import { readFile } from 'node:fs/promises';
import { hostname, loadavg, networkInterfaces } from 'node:os';
import si from 'systeminformation';
import { type CgroupLimits, readCgroupLimits } from './cgroup.ts';
import { CpuLoad } from './cpu-load.ts';
import { type DiskFigures, diskFigures } from './disks.ts';

export interface Probes {
  hostname(): string;
  cpu(): Promise<{ cores: number; model?: string }>;
  os(): Promise<string>;
  ipAddress(): Promise<string | undefined>;
  load(): Promise<{ load1: number; currentPercent?: number }>;
  memory(): Promise<{ totalBytes: number; availableBytes: number }>;
  disks(mounts: readonly string[]): Promise<DiskFigures[]>;
  cgroup(): Promise<CgroupLimits | undefined>;
}

/** The interface of the default route, from /proc/net/route (Linux); undefined elsewhere. */
async function defaultRouteInterface(): Promise<string | undefined> {
  try {
    const table = await readFile('/proc/net/route', 'utf8');
    for (const line of table.split('\n').slice(1)) {
      const [iface, destination] = line.trim().split(/\s+/);
      if (destination === '00000000') return iface;
    }
  } catch {
    // not Linux, or /proc not mounted
  }
  return undefined;
}

/** The first IPv4 address of the default-route interface, else of any non-internal interface. */
export async function primaryAddress(): Promise<string | undefined> {
  const all = networkInterfaces();
  const preferred = await defaultRouteInterface();
  const candidates = preferred ? [preferred, ...Object.keys(all)] : Object.keys(all);
  for (const name of candidates) {
    const address = all[name]?.find((a) => a.family === 'IPv4' && !a.internal);
    if (address) return address.address;
  }
  return undefined;
}

export function systemProbes(cgroupRoot: string): Probes {
  const cpuLoad = new CpuLoad();
  return {
    hostname: () => hostname(),
    async cpu() {
      const data = await si.cpu();
      const model = [data.manufacturer, data.brand].filter(Boolean).join(' ').trim();
      return { cores: data.cores, ...(model ? { model } : {}) };
    },
    async os() {
      const data = await si.osInfo();
      return `${data.distro} ${data.release} (${data.platform} ${data.kernel} ${data.arch})`.trim();
    },
    ipAddress: primaryAddress,
    async load() {
      const currentPercent = await cpuLoad.percent();
      return { load1: loadavg()[0] ?? 0, ...(currentPercent !== undefined ? { currentPercent } : {}) };
    },
    async memory() {
      const data = await si.mem();
      return { totalBytes: data.total, availableBytes: data.available };
    },
    disks: (mounts) => diskFigures(mounts),
    cgroup: () => readCgroupLimits({ root: cgroupRoot }),
  };
}

/** A probe that never answers: for the fault-injection hook NODEPULSE_FAULT_HANG_COLLECTOR. */
export function withHangingProbes(probes: Probes, names: readonly string[]): Probes {
  const hang = () => new Promise<never>(() => {});
  const copy = { ...probes } as Record<string, unknown>;
  for (const name of names) if (name in copy && name !== 'hostname') copy[name] = hang;
  return copy as unknown as Probes;
}
