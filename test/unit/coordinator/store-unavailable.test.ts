import { describe, expect, it } from 'vitest';
import { isStoreUnavailable } from '../../../src/coordinator/store/store-unavailable.ts';

const withCode = (message: string, code?: string) => Object.assign(new Error(message), code === undefined ? {} : { code });

describe('isStoreUnavailable', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a dropped connection', withCode('Connection terminated unexpectedly')],
    ['a pool connect timeout', withCode('timeout exceeded when trying to connect')],
    ['the server shutting down', withCode('terminating connection due to administrator command', '57P01')],
    ['the server starting up', withCode('the database system is starting up', '57P03')],
    ['a connection exception class', withCode('connection failure', '08006')],
    ['too many connections', withCode('sorry, too many clients already', '53300')],
    ['refusals on every address', new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], '')],
  ])('recognises %s', (_name, error) => {
    expect(isStoreUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('duplicate key value violates unique constraint', '23505')],
    ['a syntax error', withCode('syntax error at or near "SELEC"', '42601')],
    ['a plain error', new Error('boom')],
    ['a non-error', 'ECONNREFUSED'],
  ])('leaves %s alone', (_name, error) => {
    expect(isStoreUnavailable(error)).toBe(false);
  });
});
