import type { Dialect } from './migrations.ts';

/** Placeholder n of a statement: SQLite's `?` (bound in order) or PostgreSQL's `$n`. */
export type Placeholder = (n: number) => string;

/** One statement written once, spelled for each dialect: they differ in placeholders only. */
export function forDialects(build: (p: Placeholder) => string): Record<Dialect, string> {
  return { sqlite: build(() => '?'), postgres: build((n) => `$${n}`) };
}
