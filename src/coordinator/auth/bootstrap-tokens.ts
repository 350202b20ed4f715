import type { Store, Role } from '../store/store.ts';
import { hashToken } from './tokens.ts';

export interface BootstrapToken {
  role: Role;
  token: string;
  /** Enroll tokens are scoped to this cluster. */
  cluster?: string;
}

const BOOTSTRAP_LABEL = 'bootstrap';

/**
 * Tokens given through the environment (NODEPULSE_ADMIN_TOKEN, NODEPULSE_ENROLL_TOKEN) for a first
 * start, the quick start and containers. Stored hashed like any other; when the value changes,
 * the previous bootstrap token of that role is revoked.
 */
export async function installBootstrapTokens(store: Store, tokens: readonly BootstrapToken[], now: number): Promise<void> {
  const existing = await store.listTokens();
  for (const { role, token, cluster } of tokens) {
    const hash = hashToken(token);
    for (const old of existing) {
      if (old.label === BOOTSTRAP_LABEL && old.role === role && old.revokedAt === null && old.hash !== hash) await store.revokeToken(old.id, now);
    }
    // Already installed, or revoked by an operator: a revocation outlives the environment variable.
    if (existing.some((record) => record.hash === hash)) continue;
    const clusterId = cluster === undefined ? null : (await store.ensureCluster(cluster, now)).id;
    await store.insertToken({ id: `bootstrap-${role}-${hash.slice(0, 12)}`, role, clusterId, hash, label: BOOTSTRAP_LABEL, createdAt: now, revokedAt: null });
  }
}
