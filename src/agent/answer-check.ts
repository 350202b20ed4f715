/**
 * Checks what the coordinator answered against the protocol's own schemas (src/shared/protocol.ts)
 * before the agent believes any of it. A mismatch is described by path and expectation only, never
 * by the values it holds: a token could be among them.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ErrorBody } from '../shared/protocol.ts';

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Enough mismatches to see what the answer was, few enough for one log line. */
const MISMATCHES_SHOWN = 3;

/** The answer's body as `schema`, or what is wrong with it. */
export function checkAnswer<S extends TSchema>(schema: S, text: string): Checked<Static<S>> {
  if (!text) return { ok: false, problem: 'the body is empty' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'the body is not JSON' };
  }
  if (Value.Check(schema, value)) return { ok: true, value };
  return { ok: false, problem: mismatches(schema, value) };
}

/** The coordinator's `{error_code, message, details}`, when an error answer carries one. */
export function errorBodyOf(text: string): ErrorBody | undefined {
  const checked = checkAnswer(ErrorBody, text);
  return checked.ok ? checked.value : undefined;
}

/** The first mismatch at each path ("required property", not also "string", for a missing one). */
function mismatches(schema: TSchema, value: unknown): string {
  const found = new Map<string, string>();
  for (const error of Value.Errors(schema, value)) {
    const path = error.path || '(root)';
    if (!found.has(path)) found.set(path, `${path}: ${error.message}`);
    if (found.size === MISMATCHES_SHOWN) break;
  }
  return [...found.values()].join('; ');
}
