import type { Dialect } from './migrations.ts';

/** Safety-hold lift requests (migration 4): one row whose counter each request bumps. */
const holdLift = (param: string) =>
  `INSERT INTO hold_lift_requests (id, sequence, requested_at) VALUES (1, 1, ${param})
   ON CONFLICT (id) DO UPDATE SET sequence = hold_lift_requests.sequence + 1, requested_at = excluded.requested_at`;

export const HOLD_LIFT_SQL: Record<Dialect, string> = { sqlite: holdLift('?'), postgres: holdLift('$1') };
export const HOLD_LIFT_SEQUENCE_SQL = 'SELECT sequence FROM hold_lift_requests WHERE id = 1';
