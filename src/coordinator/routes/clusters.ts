import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ListClustersBody, ListClustersResponse, PlainError } from '../clusters/cluster-schemas.ts';
import type { ClusterService } from '../clusters/cluster-service.ts';

/** Seed 001: the admin view of every cluster. Errors are `{"error": "..."}` as the seed shows. */
export const clusterRoutes: FastifyPluginAsyncTypebox<{ clusters: ClusterService }> = async (app, { clusters }) => {
  app.post('/runtime/api/v1/clusters', {
    config: { permission: 'admin', errorShape: 'plain' },
    schema: {
      tags: ['clusters'],
      operationId: 'clusters_list',
      body: ListClustersBody,
      response: { 200: ListClustersResponse, 400: PlainError, 401: PlainError, 403: PlainError, 404: PlainError, 500: PlainError },
    },
    handler: (request) => clusters.list(request.body),
  });
};
