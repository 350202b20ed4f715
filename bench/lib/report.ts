import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from './types.ts';

export const RESULTS_DIR = join(import.meta.dirname, '..', 'results');

function cell(value: number | string | boolean | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'met' : 'MISSED';
  return String(value);
}

/** The figures of one benchmark as a plain-text table. */
export function formatTable(result: BenchResult): string {
  const header = ['metric', 'value', 'unit', 'baseline', 'ratio', 'goal', 'status'];
  const rows = result.figures.map((f) => [f.metric, cell(f.value), f.unit, cell(f.baseline), cell(f.ratio), f.goal ?? '', f.goal ? cell(f.met) : '']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => row.map((text, i) => text.padEnd(widths[i] ?? 0)).join(' | ');
  return [
    `== ${result.title} (${result.name})`,
    `   command: ${result.command}`,
    `   runtime: ${result.runtime}`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...rows.map(line),
    ...result.notes.map((note) => `   note: ${note}`),
  ].join('\n');
}

/** bench/results/<name>.json (git-ignored). */
export function writeResult(result: BenchResult, scale: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${result.name}${scale === 'full' ? '' : `.${scale}`}.json`);
  writeFileSync(path, `${JSON.stringify({ ...result, scale, measuredAt: new Date().toISOString(), node: process.version }, null, 2)}\n`);
  return path;
}
