import { sql } from 'kysely';
import type { EngineTraits } from '../engine.ts';

export const SQLITE_TRAITS: EngineTraits = {
  kind: 'sqlite',
  locksRows: false,
  tallySliceSize: 10_000,
  jsonText: (column, key) => sql<string | null>`json_extract(${sql.ref(column)}, ${`$.${key}`})`,
  asReal: (column) => sql<number>`CAST(${sql.ref(column)} AS REAL)`,
  isUniqueViolation: (error) => (error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true,
  orderLogCommits: async () => {},
};
