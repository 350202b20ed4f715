import { type Placeholder, forDialects } from './dialect-sql.ts';

/** Coordinator replicas (migration 5): each replica refreshes its row; the API component counts the recent ones. */
const upsert = (p: Placeholder) =>
  `INSERT INTO coordinator_replicas (id, started_at, seen_at) VALUES (${p(1)}, ${p(2)}, ${p(3)})
   ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`;
export const TOUCH_REPLICA_SQL = forDialects(upsert);
export const FORGET_REPLICAS_SQL = forDialects((p) => `DELETE FROM coordinator_replicas WHERE seen_at < ${p(1)}`);
export const COUNT_REPLICAS_SQL = forDialects((p) => `SELECT count(*) AS replicas FROM coordinator_replicas WHERE seen_at >= ${p(1)}`);
