import type { Role } from '../store/store.ts';

/** Who is calling: an operator token with a role, or one node acting as itself. */
export type Principal =
  | { kind: 'operator'; role: Role; clusterId: number | null; tokenId: string }
  | { kind: 'node'; nodeId: string; clusterId: number; instanceId: number };

export type Permission = 'read' | 'admin' | 'enroll' | 'node';

/** Role rules: admin does everything operators do; reader reads; enroll registers into its cluster. */
export function allows(principal: Principal, permission: Permission): boolean {
  if (principal.kind === 'node') return permission === 'node';
  switch (permission) {
    case 'admin':
      return principal.role === 'admin';
    case 'read':
      return principal.role === 'admin' || principal.role === 'reader';
    case 'enroll':
      return principal.role === 'admin' || principal.role === 'enroll';
    case 'node':
      return false;
  }
}
