/**
 * vitest globalSetup of `npm run chaos`: gives the run a results file that every campaign appends
 * its row to, and prints the whole table at the end (also kept as test-results/chaos/last-run.md).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { REPO_ROOT } from '../helpers/spawn-process.ts';
import { type CampaignRow, formatTable } from './results.ts';

const DIR = join(REPO_ROOT, 'test-results', 'chaos');
let file: string | undefined;
let startedAt = 0;

export function setup(project: TestProject): void {
  mkdirSync(DIR, { recursive: true });
  startedAt = Date.now();
  file = join(DIR, `run-${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}.jsonl`);
  project.provide('chaosResultsFile', file);
}

const ORDER = ['kill -9', 'SIGSTOP', 'store outage', 'network cut', 'guard 120k', 'fuzz'];
const STORES = ['SQLite', 'PostgreSQL'];

export function teardown(): void {
  if (!file) return;
  const rows = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as CampaignRow)
    : [];
  rows.sort((a, b) => ORDER.indexOf(a.campaign) - ORDER.indexOf(b.campaign) || STORES.indexOf(a.store) - STORES.indexOf(b.store));
  const minutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
  const table = `${formatTable(rows)}\n\n${rows.length} campaign(s) in ${minutes} min, ${new Date(startedAt).toISOString()}`;
  // A run against another build's coordinator (NODEPULSE_CHAOS_BASELINE) keeps its table apart.
  const baseline = process.env.NODEPULSE_CHAOS_BASELINE;
  writeFileSync(join(DIR, baseline ? 'baseline-run.md' : 'last-run.md'), `${baseline ? `coordinator of ${baseline}\n\n` : ''}${table}\n`);
  process.stdout.write(`\nnodepulse fault campaigns (npm run chaos${baseline ? `, coordinator of ${baseline}` : ''}):\n${table}\n(rows: ${file})\n`);
}
