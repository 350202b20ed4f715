import Ajv, { type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { PRINTABLE_PATTERN, PRINTABLE_RULE } from '../../shared/control-characters.ts';

/**
 * Bodies are validated strictly (a number where a string belongs is a 400, never coerced);
 * query strings and path parameters arrive as text, so they are coerced to the schema's types.
 * Every problem is reported, not only the first.
 */
const common = { allErrors: true, useDefaults: true, strict: false, removeAdditional: false } as const;
const strict = new Ajv.default({ ...common, coerceTypes: false });
const coercing = new Ajv.default({ ...common, coerceTypes: true });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;

export interface Problem {
  path: string;
  message: string;
}

/** Ajv errors as `{path, message}` with the field named the way the client sent it. */
export function problemsOf(errors: readonly Partial<ErrorObject>[], part: string): Problem[] {
  return errors.map((error) => {
    let path = (error.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const params = (error.params ?? {}) as Record<string, unknown>;
    if (error.keyword === 'required' && typeof params.missingProperty === 'string') path = path ? `${path}.${params.missingProperty}` : params.missingProperty;
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'pattern' && params.pattern === PRINTABLE_PATTERN) message = PRINTABLE_RULE;
    if (Array.isArray(params.allowedValues)) message += `: ${params.allowedValues.join(', ')}`;
    return { path: path || part, message };
  });
}
