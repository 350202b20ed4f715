import type { Dialect } from './migrations.ts';

/** Coordinator replicas (migration 5): each replica refreshes its row; the API component counts the recent ones. */
const upsert = (p: (n: number) => string) =>
  `INSERT INTO coordinator_replicas (id, started_at, seen_at) VALUES (${p(1)}, ${p(2)}, ${p(3)})
   ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`;
const questionMarks = () => '?';
const dollars = (n: number) => `$${n}`;

export const TOUCH_REPLICA_SQL: Record<Dialect, string> = { sqlite: upsert(questionMarks), postgres: upsert(dollars) };
export const FORGET_REPLICAS_SQL: Record<Dialect, string> = {
  sqlite: 'DELETE FROM coordinator_replicas WHERE seen_at < ?',
  postgres: 'DELETE FROM coordinator_replicas WHERE seen_at < $1',
};
export const COUNT_REPLICAS_SQL: Record<Dialect, string> = {
  sqlite: 'SELECT count(*) AS replicas FROM coordinator_replicas WHERE seen_at >= ?',
  postgres: 'SELECT count(*) AS replicas FROM coordinator_replicas WHERE seen_at >= $1',
};
