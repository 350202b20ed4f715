import type { Runtime } from './runtime.ts';

/** What every benchmark hands back: figures with their baseline and ratio, and how they were measured. */
export type Scale = 'smoke' | 'full';

export interface Figure {
  metric: string;
  value: number;
  unit: string;
  /** The same quantity for the baseline measured in the same run, when there is one. */
  baseline?: number;
  /** value / baseline (or the ratio the goal is stated in). */
  ratio?: number;
  goal?: string;
  met?: boolean;
}

export interface BenchResult {
  name: string;
  title: string;
  /** The command that measures this benchmark. */
  command: string;
  /** How the process under test ran: compiled JS, tsx, or in-process. */
  runtime: string;
  figures: Figure[];
  notes: string[];
  /** Extra raw data (histograms, per-size detail) kept in the JSON only. */
  detail?: Record<string, unknown>;
}

export interface BenchContext {
  scale: Scale;
  log: (message: string) => void;
  /** How daemons (coordinator, agent) are started as child processes. */
  runtime: Runtime;
}

export interface Benchmark {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** A figure with its ratio against the baseline, rounded for reading. */
export function figure(metric: string, value: number, unit: string, extra: Omit<Figure, 'metric' | 'value' | 'unit'> = {}): Figure {
  const out: Figure = { metric, value: round(value), unit, ...extra };
  if (extra.baseline !== undefined) out.baseline = round(extra.baseline);
  if (extra.ratio !== undefined) out.ratio = round(extra.ratio, 3);
  else if (extra.baseline !== undefined && extra.baseline !== 0) out.ratio = round(value / extra.baseline, 3);
  return out;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}
