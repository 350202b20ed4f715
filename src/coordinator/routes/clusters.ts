import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ListClustersBody, ListClustersResponse } from '../clusters/cluster-schemas.ts';
import type { ClusterService } from '../clusters/cluster-service.ts';

/** Seed 001: the admin view of every cluster. Errors are `{"error": "..."}` as the seed shows (see error-handler.ts). */
export const clusterRoutes: FastifyPluginAsyncTypebox<{ clusters: ClusterService }> = async (app, { clusters }) => {
  app.post('/runtime/api/v1/clusters', {
    config: { permission: 'admin' },
    schema: {
      tags: ['clusters'],
      operationId: 'clusters_list',
      body: ListClustersBody,
      // Every error status of this route is one any route may answer (routes/error-schemas.ts).
      response: { 200: ListClustersResponse },
    },
    handler: (request) => clusters.list(request.body),
  });
};
