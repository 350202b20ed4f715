import { clusterNamesById } from './clusters/cluster-names.ts';
import { toRfc3339 } from '../shared/clock.ts';
import { ApiError } from '../shared/errors.ts';
import { hashToken, newOperatorToken } from './auth/tokens.ts';
import type { Role, Store } from './store/store.ts';

export interface CreatedToken {
  id: string;
  role: Role;
  cluster: string | null;
  /** Shown once; only its hash is stored. */
  token: string;
}

/** Operator token management, straight on the store (so the first admin token needs no API). */
export async function createToken(store: Store, role: Role, cluster: string | undefined, label: string, now: number): Promise<CreatedToken> {
  if (role === 'enroll' && cluster === undefined) cluster = 'default';
  if (role !== 'enroll' && cluster !== undefined) throw new ApiError('InvalidRequest', 'Only enroll tokens are scoped to a cluster');
  const clusterId = cluster === undefined ? null : (await store.ensureCluster(cluster, now)).id;
  const { id, token } = newOperatorToken();
  await store.insertToken({ id, role, clusterId, hash: hashToken(token), label, createdAt: now, revokedAt: null });
  return { id, role, cluster: cluster ?? null, token };
}

export interface TokenListing {
  id: string;
  role: Role;
  cluster: string | null;
  label: string;
  createdAt: string;
  revokedAt: string | null;
}

export async function listTokens(store: Store): Promise<TokenListing[]> {
  const tokens = await store.listTokens();
  const names = await clusterNamesById(store, tokens.flatMap((token) => (token.clusterId === null ? [] : [token.clusterId])));
  return tokens.map((token) => ({
    id: token.id,
    role: token.role,
    cluster: token.clusterId === null ? null : (names.get(token.clusterId) ?? null),
    label: token.label,
    createdAt: toRfc3339(token.createdAt),
    revokedAt: token.revokedAt === null ? null : toRfc3339(token.revokedAt),
  }));
}
