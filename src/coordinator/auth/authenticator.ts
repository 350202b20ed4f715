import type { Clock } from '../../shared/clock.ts';
import type { NodeDirectory, NodeEntry } from '../state/node-directory.ts';
import type { Store, TokenRecord } from '../store/store.ts';
import { AuthenticationFailure } from './authentication-failure.ts';
import type { Principal } from './principal.ts';
import type { JwtVerifier } from './jwt-verifier.ts';
import { bearerToken, hashToken, hashesEqual, isJwtShaped, nodeIdOfToken } from './tokens.ts';

/** JWT bearer tokens, when the coordinator accepts them. */
export interface JwtAuthentication {
  verifier: JwtVerifier;
  /** The id of an enroll token's cluster, created on first use like a registration's. */
  clusterId: (name: string) => Promise<number>;
}

interface CachedToken {
  record: TokenRecord;
  expiresAt: number;
}

/**
 * Turns an Authorization header into a Principal. Node tokens are checked against the node
 * directory (no query on the heartbeat path); operator tokens are looked up by hash and trusted
 * for `cacheMs`, so a revocation takes effect within that time on every replica; a JWT (three
 * dot-separated segments, where API keys have none) is checked by its signature and claims and
 * acts as an operator token of its role.
 */
export class Authenticator {
  private readonly cache = new Map<string, CachedToken>();

  constructor(
    private readonly store: Store,
    private readonly directory: NodeDirectory,
    private readonly clock: Clock,
    private readonly cacheMs: number,
    private readonly jwt?: JwtAuthentication,
  ) {}

  /**
   * The caller behind an Authorization header (the auth hook checks the role). A node token of a node the coordinator does
   * not know answers exactly like a known node's token with a wrong secret (401), on every
   * route, so no answer tells which node ids exist. The answer is synchronous when memory knows
   * the token (a known node, a cached operator token): the heartbeat path then costs no promise.
   * Throws an AuthenticationFailure (synchronously, or by rejecting).
   */
  authenticate(header: string | undefined): Principal | Promise<Principal> {
    const token = bearerToken(header);
    if (!token) throw new AuthenticationFailure('missing', 'Missing bearer token: send Authorization: Bearer <token>');
    if (isJwtShaped(token)) return this.authenticateJwt(token);
    const hash = hashToken(token);
    const nodeId = nodeIdOfToken(token);
    if (nodeId !== undefined) {
      const known = this.directory.peek(nodeId);
      if (known) return nodePrincipal(known, hash, nodeId) ?? refuseNodeToken();
      return this.directory.get(nodeId).then((entry) => nodePrincipal(entry, hash, nodeId) ?? refuseNodeToken());
    }
    const cached = this.cachedOperatorToken(hash);
    if (cached) return operatorPrincipal(cached, hash) ?? refuseOperatorToken();
    return this.lookUpOperatorToken(hash).then((record) => operatorPrincipal(record, hash) ?? refuseOperatorToken());
  }

  /**
   * The caller when memory alone proves its token valid (a node this replica knows, a cached
   * operator token), else undefined: never a store query, never a signature check. What a
   * throttled address may still be served with.
   */
  knownCaller(header: string | undefined): Principal | undefined {
    const token = bearerToken(header);
    if (!token || isJwtShaped(token)) return undefined;
    const nodeId = nodeIdOfToken(token);
    if (nodeId !== undefined) {
      const known = this.directory.peek(nodeId);
      return known && nodePrincipal(known, hashToken(token), nodeId);
    }
    const hash = hashToken(token);
    const cached = this.cachedOperatorToken(hash);
    return cached && operatorPrincipal(cached, hash);
  }

  private async authenticateJwt(token: string): Promise<Principal> {
    if (!this.jwt) throw new AuthenticationFailure('invalid', 'JWT bearer tokens are not accepted here (no JWT keys configured)');
    const caller = await this.jwt.verifier.verify(token);
    const clusterId = caller.cluster === undefined ? null : await this.jwt.clusterId(caller.cluster);
    return { kind: 'operator', role: caller.role, clusterId, tokenId: `jwt:${caller.subject ?? ''}` };
  }

  private cachedOperatorToken(hash: string): TokenRecord | undefined {
    const cached = this.cache.get(hash);
    return cached && cached.expiresAt > this.clock.now() ? cached.record : undefined;
  }

  private async lookUpOperatorToken(hash: string): Promise<TokenRecord | undefined> {
    const now = this.clock.now();
    const record = await this.store.findTokenByHash(hash);
    if (record) this.cache.set(hash, { record, expiresAt: now + this.cacheMs });
    else this.cache.delete(hash);
    return record;
  }

  /** Forget cached tokens at once (after a revocation through this replica). */
  invalidate(): void {
    this.cache.clear();
  }
}

function nodePrincipal(entry: NodeEntry | undefined, hash: string, nodeId: string): Principal | undefined {
  if (!entry || !hashesEqual(entry.tokenHash, hash)) return undefined;
  return { kind: 'node', nodeId, clusterId: entry.clusterId, instanceId: entry.instanceId };
}

/** The one answer to a node token that is not valid, whatever the reason (unknown node, wrong secret). */
export function invalidNodeToken(): AuthenticationFailure {
  return new AuthenticationFailure('invalid', 'Invalid token');
}

function refuseNodeToken(): never {
  throw invalidNodeToken();
}

function operatorPrincipal(record: TokenRecord | undefined, hash: string): Principal | undefined {
  if (!record || !hashesEqual(record.hash, hash)) return undefined;
  return { kind: 'operator', role: record.role, clusterId: record.clusterId, tokenId: record.id };
}

function refuseOperatorToken(): never {
  throw new AuthenticationFailure('invalid', 'Invalid or revoked token');
}
