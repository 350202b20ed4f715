import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll } from '../helpers/spawn-process.ts';
import { BENCHMARKS, runSuite } from '../../bench/suite.ts';
import type { BenchResult } from '../../bench/lib/types.ts';

/**
 * Keeps the benchmarks working: each one runs at smoke scale (seconds) and must produce its
 * figures. Nothing here asserts a time or a goal; the figures of a real run are in
 * docs/performance.md.
 */
describe('benchmarks at smoke scale', () => {
  afterAll(() => cleanupAll());

  it('runs every benchmark and each produces finite figures', { timeout: 360_000 }, async () => {
    const results: BenchResult[] = await runSuite({ scale: 'smoke', build: false, write: false, print: () => undefined, log: () => undefined });
    expect(results.map((result) => result.name)).toEqual(BENCHMARKS.map((bench) => bench.name));
    for (const result of results) {
      expect(result.figures.length, result.name).toBeGreaterThan(0);
      for (const fig of result.figures) {
        expect(Number.isFinite(fig.value), `${result.name}: ${fig.metric} = ${fig.value}`).toBe(true);
        if (fig.baseline !== undefined) expect(Number.isFinite(fig.baseline), `${result.name}: ${fig.metric} baseline`).toBe(true);
      }
    }
  });
});
