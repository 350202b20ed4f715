import { type Static, Type } from '@sinclair/typebox';
import { ClusterNode } from '../../shared/protocol.ts';

/** Seed 001: `POST /runtime/api/v1/clusters`. Errors here are `{"error": "..."}`. */

export const ListClustersBody = Type.Object({
  /** Seed 001's own example sends "50": a numeric string is accepted; the range is checked in code. */
  limit: Type.Optional(Type.Union([Type.Integer(), Type.String({ pattern: '^\\s*-?[0-9]+\\s*$' })], { description: '1-100, default 10' })),
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

export const PlainError = Type.Object({ error: Type.String() });
