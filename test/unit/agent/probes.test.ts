import { describe, expect, it } from 'vitest';
import { CpuLoad, type CpuTimes, busyPercent, parseProcStat } from '../../../src/agent/cpu-load.ts';
import { diskFigures, parseMountPoints } from '../../../src/agent/disks.ts';

const GIB = 1024 ** 3;

describe('cpu busy share', () => {
  it('reads the aggregate cpu line of /proc/stat, idle and iowait as idle', () => {
    const stat = 'cpu  100 5 50 800 40 2 3 0 7 0\ncpu0 50 2 25 400 20 1 1 0 0 0\nintr 1 2 3\n';
    expect(parseProcStat(stat)).toEqual({ busy: 160, total: 1000 });
    expect(parseProcStat('intr 1 2 3')).toBeUndefined();
    expect(parseProcStat('cpu  1 x 3 4')).toBeUndefined();
  });

  it('is the busy share of the time between two readings', () => {
    expect(busyPercent({ busy: 100, total: 1000 }, { busy: 125, total: 1100 })).toBe(25);
    expect(busyPercent({ busy: 100, total: 1000 }, { busy: 100, total: 1000 })).toBeUndefined();
  });

  it('samples over a first window, then measures since the previous call', async () => {
    const readings: CpuTimes[] = [
      { busy: 0, total: 0 },
      { busy: 10, total: 100 },
      { busy: 60, total: 200 },
    ];
    const waits: number[] = [];
    const load = new CpuLoad({ read: async () => readings.shift(), wait: async (ms) => void waits.push(ms), firstWindowMs: 500 });
    expect(await load.percent()).toBe(10);
    expect(waits).toEqual([500]);
    expect(await load.percent()).toBe(50);
    expect(waits).toEqual([500]);
  });

  it('reports nothing while the counters cannot be read', async () => {
    const load = new CpuLoad({ read: async () => undefined, wait: async () => undefined });
    expect(await load.percent()).toBeUndefined();
  });
});

describe('disk figures', () => {
  const mountInfo = [
    '22 27 0:21 / /proc rw,relatime - proc proc rw',
    '27 1 253:1 / / rw,relatime - ext4 /dev/vda rw',
    '30 27 253:2 / /srv/my\\040data rw,relatime - ext4 /dev/vdb rw',
  ].join('\n');

  it('decodes the mount points of mountinfo', () => {
    expect([...parseMountPoints(mountInfo)]).toEqual(['/proc', '/', '/srv/my data']);
  });

  it('reports free (available to users) and total bytes of mount points only', async () => {
    const statfs = async (path: string) => ({ bsize: 4096, blocks: (path === '/' ? 20 : 5) * (GIB / 4096), bavail: 2 * (GIB / 4096) });
    const figures = await diskFigures(['/', '/srv/my data', '/var/lib'], { mountInfo: async () => mountInfo, statfs });
    expect(figures).toEqual([
      { mount: '/', freeBytes: 2 * GIB, totalBytes: 20 * GIB },
      { mount: '/srv/my data', freeBytes: 2 * GIB, totalBytes: 5 * GIB },
    ]);
  });

  it('asks statfs for every mount where there is no mountinfo', async () => {
    const asked: string[] = [];
    const statfs = async (path: string) => {
      asked.push(path);
      return { bsize: 512, blocks: 10, bavail: 4 };
    };
    const figures = await diskFigures(['/', '/data'], { mountInfo: () => Promise.reject(new Error('ENOENT')), statfs });
    expect(asked).toEqual(['/', '/data']);
    expect(figures[1]).toEqual({ mount: '/data', freeBytes: 2048, totalBytes: 5120 });
  });
});
