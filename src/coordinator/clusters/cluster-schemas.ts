import { type Static, Type } from '@sinclair/typebox';
import { ClusterNode } from '../../shared/protocol.ts';
import { DEFAULT_LIMIT, MAX_LIMIT } from './cluster-service.ts';

/** Seed 001: `POST /runtime/api/v1/clusters`. Errors here are `{"error": "..."}`. */

/**
 * Seed 001's own example sends "50": an integer 1-100 or the same as a numeric string (the
 * pattern spells 1-100). One schema with both types, not a union, so a refusal names `limit`
 * once, with the rule it broke.
 */
const Limit = Type.Unsafe<number | string>({
  type: ['integer', 'string'],
  minimum: 1,
  maximum: MAX_LIMIT,
  pattern: '^\\s*0*([1-9][0-9]?|100)\\s*$',
  default: DEFAULT_LIMIT,
  description: 'Page size: an integer from 1 to 100, or the same as a numeric string ("50")',
});

export const ListClustersBody = Type.Object({
  limit: Type.Optional(Limit),
  next_key: Type.Optional(Type.String({ maxLength: 32, description: 'next_key of the previous page; empty or absent on the first request' })),
  /** nodepulse: also return each cluster's Active nodes (seed 000's ClusterNode). */
  include_nodes: Type.Optional(Type.Boolean({ default: false })),
});
export type ListClustersBody = Static<typeof ListClustersBody>;

export const ClusterObj = Type.Object({
  monitored_at: Type.String({ format: 'date-time' }),
  id: Type.String(),
  name: Type.String(),
  controller_version: Type.String(),
  controller_status: Type.Unsafe<'running' | 'stopped'>({ type: 'string', enum: ['running', 'stopped'] }),
  controller_last_updated: Type.String({ format: 'date-time' }),
  provider: Type.String(),
  regions: Type.Array(Type.String()),
  nodes_count: Type.Integer(),
  running_nodes_count: Type.Integer(),
  failed_nodes_count: Type.Integer(),
  failed_to_install_nodes_count: Type.Integer(),
  disabled_nodes_count: Type.Integer(),
  nodes: Type.Optional(Type.Array(ClusterNode)),
});
export type ClusterObj = Static<typeof ClusterObj>;

export const ListClustersResponse = Type.Object({
  total_count: Type.Integer(),
  pagination: Type.Object({ limit: Type.Integer(), next_key: Type.String() }),
  clusters: Type.Array(ClusterObj),
});
export type ListClustersResponse = Static<typeof ListClustersResponse>;
