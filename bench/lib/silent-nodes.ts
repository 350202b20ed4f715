import Database from 'better-sqlite3';
import { postAction } from './coordinator-child.ts';
import type { SeededNode } from './fleet-seed.ts';
import { sleep } from './proc-stats.ts';
import { type Figure, figure, percentile } from './types.ts';

/**
 * Each silent node's last heartbeat, `fromMs` from now and `spacingMs` apart, each on its own
 * schedule (not after the previous answer), so a slow answer does not push the later ones, and
 * their deadlines, past the end of a run. Resolves with the refusals.
 */
export async function sendLastHeartbeats(url: string, silent: readonly SeededNode[], fromMs: number, spacingMs: number): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(
    silent.map(async (node, i) => {
      await sleep(fromMs + i * spacingMs);
      const answer = await postAction(url, 'cluster_ReportNodeHeartbeat', node.token).catch((error: unknown) => ({ status: 0, body: String(error) }));
      if (answer.status !== 200) failures.push(`${answer.status} ${JSON.stringify(answer.body)}`);
    }),
  );
  return failures;
}

export interface SilenceVerdict {
  /** terminatedAt - (last heartbeat + timeout) of each detected silent node, ms, ascending. */
  delays: number[];
  /** Silent nodes still Active. */
  missed: number;
  /** Silent nodes terminated before their deadline. */
  early: number;
  /** Nodes terminated that were not silent (live nodes timed out). */
  liveTerminated: number;
}

/** Reads the store file: how the silent nodes ended, and whether any other node did. */
export function judgeSilence(storePath: string, silentIds: readonly string[], timeoutMs: number): SilenceVerdict {
  const db = new Database(storePath, { readonly: true });
  try {
    const row = db.prepare('SELECT status, last_heartbeat, terminated_at FROM nodes WHERE id = ?');
    const verdict: SilenceVerdict = { delays: [], missed: 0, early: 0, liveTerminated: 0 };
    let silentTerminated = 0;
    for (const id of silentIds) {
      const node = row.get(id) as { status: string; last_heartbeat: number; terminated_at: number | null };
      if (node.status !== 'Terminated' || node.terminated_at === null) verdict.missed += 1;
      else {
        silentTerminated += 1;
        const delay = node.terminated_at - (node.last_heartbeat + timeoutMs);
        if (delay < 0) verdict.early += 1;
        verdict.delays.push(delay);
      }
    }
    const terminated = db.prepare("SELECT count(*) FROM nodes WHERE status = 'Terminated'").pluck().get() as number;
    verdict.liveTerminated = terminated - silentTerminated;
    verdict.delays.sort((a, b) => a - b);
    return verdict;
  } finally {
    db.close();
  }
}

/** Detection figures against the sweep period (1 s), the bound a once-a-second sweep reaches. */
export function detectionFigures(verdict: SilenceVerdict, silentCount: number): Figure[] {
  const sweepPeriodMs = 1000;
  const { delays, missed, early, liveTerminated } = verdict;
  const p99 = percentile(delays, 99);
  return [
    figure('detection delay p50', percentile(delays, 50), 'ms after deadline', { baseline: sweepPeriodMs }),
    figure('detection delay p99', p99, 'ms after deadline', { baseline: sweepPeriodMs, goal: '<= 1000 ms after the deadline (timeout + 1 s)', met: p99 <= 1000 && missed === 0 }),
    figure('detection delay max', delays[delays.length - 1] ?? Number.NaN, 'ms after deadline', { baseline: sweepPeriodMs }),
    figure('silent nodes detected by the end of the run', delays.length, `of ${silentCount}`, { goal: 'all', met: missed === 0 }),
    figure('terminated before their deadline', early, 'nodes', { goal: '0', met: early === 0 }),
    figure('heartbeating nodes terminated', liveTerminated, 'nodes', { goal: '0', met: liveTerminated === 0 }),
  ];
}
