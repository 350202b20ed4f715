import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type { EngineTraits } from './engine.ts';
import type { Db } from './schema.ts';

/** Stands in for a value while a prepared query is built; its position in the compiled parameters is where the value goes. */
class Parameter {
  constructor(readonly name: string) {}
}

export type ParameterOf<P> = <K extends keyof P & string>(name: K) => P[K];

export interface PreparedQuery<P, R> {
  /** Runs the query with these values on `db` (the store, or a transaction on it). */
  run(db: Db, engine: EngineTraits, values: P): Promise<QueryResult<R>>;
}

/**
 * A query built and compiled once per engine, then run with new values each time. Kysely builds
 * and compiles a query on every call, which cost more than running it on the registration and
 * sweep paths (~30 µs a query). Only for queries whose shape never depends on the values: an IN
 * list or an optional clause needs a query built per call.
 */
export function prepare<P extends Record<string, unknown>, R>(build: (db: Db, engine: EngineTraits, param: ParameterOf<P>) => Compilable<R>): PreparedQuery<P, R> {
  const compiled = new Map<EngineTraits['kind'], CompiledQuery<R>>();
  const param = ((name: string) => new Parameter(name)) as ParameterOf<P>;
  return {
    run(db, engine, values) {
      let query = compiled.get(engine.kind);
      if (!query) {
        query = build(db, engine, param).compile();
        compiled.set(engine.kind, query);
      }
      const parameters = query.parameters.map((value) => (value instanceof Parameter ? values[value.name] : value));
      if (db.isTransaction && engine.runInTransaction) return Promise.resolve(engine.runInTransaction(query.sql, parameters) as QueryResult<R>);
      return db.executeQuery<R>({ ...query, parameters });
    },
  };
}
