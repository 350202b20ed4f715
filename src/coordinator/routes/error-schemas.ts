import { Type } from '@sinclair/typebox';

/** `{error_code, message, details}`: the error body of every route but seed 001's. */
export const ErrorBody = Type.Object({
  error_code: Type.String(),
  message: Type.String(),
  details: Type.Object({}, { additionalProperties: true }),
});

/** Response schemas for the given error statuses. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody]));
}
