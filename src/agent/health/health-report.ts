/** Pure: the node's health is its worst check. */
import type { CheckStatus, HealthReport } from '../../shared/protocol.ts';

const RANK: Record<CheckStatus, number> = { passing: 0, warning: 1, critical: 2 };

export function worstStatus(statuses: readonly CheckStatus[]): CheckStatus {
  return statuses.reduce<CheckStatus>((worst, s) => (RANK[s] > RANK[worst] ? s : worst), 'passing');
}

export interface NamedResult {
  name: string;
  status: CheckStatus;
  output: string;
}

export function buildReport(results: readonly NamedResult[]): HealthReport {
  return {
    status: worstStatus(results.map((r) => r.status)),
    checks: results.map((r) => ({ name: r.name, status: r.status, ...(r.output ? { output: r.output.slice(0, 4096) } : {}) })),
  };
}
