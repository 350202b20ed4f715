/**
 * The campaigns' table: one row per campaign and store. Each row is printed when its campaign
 * ends; under `npm run chaos` it is also appended (JSON, one per line) to the run's results file,
 * and the chaos global setup prints the whole table at the end.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the campaigns of this run append their rows (set by test/chaos/global-setup.ts). */
    chaosResultsFile?: string;
  }
}

export interface CampaignRow {
  campaign: string;
  store: string;
  trials: number;
  /** Live nodes (simulated or real agents) timed out; in the cut campaign also cut nodes terminated before their hold ended. */
  wronglyTimedOut: number;
  /** Registrations, acknowledged terminations and tokens missing from the store. */
  recordsLost: number;
  /** Instances with two Active nodes at any check. */
  doubleActive: number;
  /** Longest terminatedAt − (lastHeartbeat + timeout) of the nodes killed for good; null when none was timed out. */
  maxDetectionMs: number | null;
  durationSecs: number;
  /** PASS, or what failed in a few words. */
  outcome: string;
}

/** The store as the table names it. */
export function storeLabel(kind: 'sqlite' | 'postgres'): string {
  return kind === 'sqlite' ? 'SQLite' : 'PostgreSQL';
}

const COLUMNS: { title: string; width: number; cell: (row: CampaignRow) => string }[] = [
  { title: 'campaign', width: 13, cell: (row) => row.campaign },
  { title: 'store', width: 10, cell: (row) => row.store },
  { title: 'trials', width: 6, cell: (row) => String(row.trials) },
  { title: 'live timed out', width: 14, cell: (row) => String(row.wronglyTimedOut) },
  { title: 'records lost', width: 12, cell: (row) => String(row.recordsLost) },
  { title: 'double-Active', width: 13, cell: (row) => String(row.doubleActive) },
  { title: 'max detection (ms)', width: 18, cell: (row) => (row.maxDetectionMs === null ? '-' : String(row.maxDetectionMs)) },
  { title: 'secs', width: 5, cell: (row) => String(row.durationSecs) },
  { title: 'outcome', width: 0, cell: (row) => row.outcome },
];

function line(cells: string[]): string {
  return `| ${cells.map((cell, index) => cell.padEnd(COLUMNS[index]!.width)).join(' | ')} |`;
}

export function formatTable(rows: CampaignRow[]): string {
  const header = line(COLUMNS.map((column) => column.title));
  const rule = `|${COLUMNS.map((column) => '-'.repeat(Math.max(column.width, column.title.length) + 2)).join('|')}|`;
  return [header, rule, ...rows.map((row) => line(COLUMNS.map((column) => column.cell(row))))].join('\n');
}

/** Prints the row at once (stderr shows up in vitest's output) and appends it to the run's file. */
export function reportRow(row: CampaignRow): void {
  process.stderr.write(`\nchaos row:\n${formatTable([row])}\n`);
  let file: string | undefined;
  try {
    file = inject('chaosResultsFile');
  } catch {
    file = undefined;
  }
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(row)}\n`);
}
