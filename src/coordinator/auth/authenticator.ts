import type { Clock } from '../../shared/clock.ts';
import { ApiError } from '../../shared/errors.ts';
import type { NodeDirectory, NodeEntry } from '../state/node-directory.ts';
import type { Store, TokenRecord } from '../store/store.ts';
import type { Principal } from './principal.ts';
import { bearerToken, hashToken, hashesEqual, nodeIdOfToken } from './tokens.ts';

interface CachedToken {
  record: TokenRecord;
  expiresAt: number;
}

/**
 * Turns an Authorization header into a Principal. Node tokens are checked against the node
 * directory (no query on the heartbeat path); operator tokens are looked up by hash and trusted
 * for `cacheMs`, so a revocation takes effect within that time on every replica.
 */
export class Authenticator {
  private readonly cache = new Map<string, CachedToken>();

  constructor(
    private readonly store: Store,
    private readonly directory: NodeDirectory,
    private readonly clock: Clock,
    private readonly cacheMs: number,
  ) {}

  /**
   * The caller behind an Authorization header (the auth hook checks the role). A node token of a node the coordinator does
   * not know answers exactly like a known node's token with a wrong secret (401), on every
   * route, so no answer tells which node ids exist. The answer is synchronous when memory knows
   * the token (a known node, a cached operator token): the heartbeat path then costs no promise.
   * Throws (synchronously, or by rejecting).
   */
  authenticate(header: string | undefined): Principal | Promise<Principal> {
    const token = bearerToken(header);
    if (!token) throw new ApiError('Unauthorized', 'Missing bearer token: send Authorization: Bearer <token>');
    const hash = hashToken(token);
    const nodeId = nodeIdOfToken(token);
    if (nodeId !== undefined) {
      const known = this.directory.peek(nodeId);
      if (known) return nodePrincipal(known, hash, nodeId);
      return this.directory.get(nodeId).then((entry) => nodePrincipal(entry, hash, nodeId));
    }
    const cached = this.cachedOperatorToken(hash);
    if (cached) return operatorPrincipal(cached, hash);
    return this.lookUpOperatorToken(hash).then((record) => operatorPrincipal(record, hash));
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

function nodePrincipal(entry: NodeEntry | undefined, hash: string, nodeId: string): Principal {
  if (!entry || !hashesEqual(entry.tokenHash, hash)) throw invalidNodeToken();
  return { kind: 'node', nodeId, clusterId: entry.clusterId, instanceId: entry.instanceId };
}

/** The one answer to a node token that is not valid, whatever the reason (unknown node, wrong secret). */
export function invalidNodeToken(): ApiError {
  return new ApiError('Unauthorized', 'Invalid token');
}

function operatorPrincipal(record: TokenRecord | undefined, hash: string): Principal {
  if (!record || !hashesEqual(record.hash, hash)) throw new ApiError('Unauthorized', 'Invalid or revoked token');
  return { kind: 'operator', role: record.role, clusterId: record.clusterId, tokenId: record.id };
}
