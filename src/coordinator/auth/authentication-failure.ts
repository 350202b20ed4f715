import { ApiError } from '../../shared/errors.ts';

/**
 * Why a token was refused, for the metrics and the failure limit; never in the answer, which
 * for a node token must not tell an unknown node from a wrong secret.
 */
export type AuthFailureReason =
  | 'missing'
  | 'invalid'
  | 'jwt_malformed'
  | 'jwt_algorithm'
  | 'jwt_unknown_key'
  | 'jwt_signature'
  | 'jwt_expired'
  | 'jwt_not_yet_valid'
  | 'jwt_claims';

/** A failed authentication: answered 401 Unauthorized, counted by reason. */
export class AuthenticationFailure extends ApiError {
  constructor(
    readonly reason: AuthFailureReason,
    message: string,
  ) {
    super('Unauthorized', message);
  }
}
