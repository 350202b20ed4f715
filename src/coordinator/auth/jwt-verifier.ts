import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type JWTPayload, type JWTVerifyGetKey, errors, jwtVerify } from 'jose';
import type { Clock } from '../../shared/clock.ts';
import { ApiError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { NameText } from '../../shared/protocol.ts';
import { ROLES, type Role } from '../store/store.ts';
import { AuthenticationFailure } from './authentication-failure.ts';
import { KeysUnavailableError, jwksFileKeys, jwksUrlKeys } from './jwks.ts';
import type { JwtKeySource, JwtSettings } from './jwt-settings.ts';

/** The role claim's values, and an enroll token's cluster (a cluster name as the API accepts it). */
const JwtRole = Type.Union(ROLES.map((role) => Type.Literal(role)));
const JwtCluster = NameText(128);

/** What a valid JWT says about its bearer. */
export interface JwtCaller {
  role: Role;
  /** The cluster an enroll token registers into. */
  cluster: string | undefined;
  subject: string | undefined;
}

/**
 * Checks JWT bearer tokens: the signature with the one configured key source, its algorithms
 * pinned by that source's kind (HS256 for a secret, RS256 or ES256 for a key set, never `none`,
 * so a public key can never serve as an HMAC secret); `aud`, `iss` and `exp` required; `exp` and
 * `nbf` judged on the coordinator's clock within the tolerance; the role (and an enroll token's
 * cluster) from the configured claims.
 */
export class JwtVerifier {
  private readonly key: JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(
    private readonly settings: JwtSettings,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.key = keyOf(settings.keys, clock, settings.refreshMs, logger);
    this.algorithms = settings.keys.kind === 'secret' ? ['HS256'] : ['RS256', 'ES256'];
    logger.info('accepting JWTs for the operator roles', { keys: describe(settings.keys), algorithms: this.algorithms, audience: settings.audience, issuer: settings.issuer });
  }

  /** The caller a valid token names; an AuthenticationFailure (401) otherwise, ApiError KeysUnavailable (503) when the keys cannot be had. */
  async verify(token: string): Promise<JwtCaller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: this.algorithms,
        audience: this.settings.audience,
        issuer: this.settings.issuer,
        requiredClaims: ['exp'],
        clockTolerance: this.settings.clockToleranceSecs,
        currentDate: new Date(this.clock.now()),
      }));
    } catch (error) {
      throw refusal(error);
    }
    const role = payload[this.settings.roleClaim];
    if (!Value.Check(JwtRole, role)) throw new AuthenticationFailure('jwt_claims', `The token's ${this.settings.roleClaim} claim must be admin, reader or enroll`);
    if (role !== 'enroll') return { role, cluster: undefined, subject: payload.sub };
    const cluster = payload[this.settings.clusterClaim];
    if (!Value.Check(JwtCluster, cluster)) throw new AuthenticationFailure('jwt_claims', `An enroll token's ${this.settings.clusterClaim} claim must name its cluster`);
    return { role, cluster, subject: payload.sub };
  }
}

function keyOf(keys: JwtKeySource, clock: Clock, refreshMs: number, logger: Logger): JWTVerifyGetKey {
  switch (keys.kind) {
    case 'secret':
      return () => keys.secret;
    case 'jwksFile':
      return jwksFileKeys(keys.path, clock, refreshMs, logger);
    case 'jwksUrl':
      return jwksUrlKeys(keys.url, clock, refreshMs, logger);
  }
}

function describe(keys: JwtKeySource): string {
  switch (keys.kind) {
    case 'secret':
      return 'a shared secret';
    case 'jwksFile':
      return `key set file ${keys.path}`;
    case 'jwksUrl':
      return `key set URL ${keys.url.href}`;
  }
}

/** What to answer a token jose refused, with why in a word the operator can count; anything else is a bug and thrown on. */
function refusal(error: unknown): ApiError {
  if (error instanceof KeysUnavailableError) return new ApiError('KeysUnavailable');
  if (error instanceof errors.JWTExpired) return new AuthenticationFailure('jwt_expired', 'The token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return new AuthenticationFailure('jwt_not_yet_valid', 'The token is not valid yet');
    return new AuthenticationFailure('jwt_claims', `The token's ${error.claim} claim is missing or not the one accepted here`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new AuthenticationFailure('jwt_signature', "The token's signature does not verify");
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new AuthenticationFailure('jwt_algorithm', "The token's algorithm is not accepted here");
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new AuthenticationFailure('jwt_unknown_key', 'No key of the key set matches the token (its kid)');
  }
  if (error instanceof errors.JOSEError) return new AuthenticationFailure('jwt_malformed', 'The token is not a well-formed JWT');
  throw error;
}
