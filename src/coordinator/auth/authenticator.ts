import type { Clock } from '../../shared/clock.ts';
import { ApiError } from '../../shared/errors.ts';
import type { NodeDirectory } from '../state/node-directory.ts';
import type { Store, TokenRecord } from '../store/store.ts';
import type { Permission, Principal } from './principal.ts';
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
   * The caller of a route that needs `permission`. A node token of a node the coordinator does
   * not know is 404 NodeNotFound only where a node acts as itself (heartbeat, deregister: the
   * agent then registers afresh); anywhere else it is just an invalid token (401).
   */
  async authenticate(header: string | undefined, permission: Permission): Promise<Principal> {
    const token = bearerToken(header);
    if (!token) throw new ApiError('Unauthorized', 'Missing bearer token: send Authorization: Bearer <token>');
    const hash = hashToken(token);
    const nodeId = nodeIdOfToken(token);
    if (nodeId !== undefined) {
      const entry = await this.directory.get(nodeId);
      if (!entry && permission === 'node') throw new ApiError('NodeNotFound', 'The node of this token is unknown; register again', { nodeId });
      if (!entry) throw new ApiError('Unauthorized', 'Invalid token');
      if (!hashesEqual(entry.tokenHash, hash)) throw new ApiError('Unauthorized', 'Invalid token');
      return { kind: 'node', nodeId, clusterId: entry.clusterId, instanceId: entry.instanceId };
    }
    const record = await this.operatorToken(hash);
    if (!record || !hashesEqual(record.hash, hash)) throw new ApiError('Unauthorized', 'Invalid or revoked token');
    return { kind: 'operator', role: record.role, clusterId: record.clusterId, tokenId: record.id };
  }

  private async operatorToken(hash: string): Promise<TokenRecord | undefined> {
    const now = this.clock.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expiresAt > now) return cached.record;
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
