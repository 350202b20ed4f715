import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ListClustersBody, ListClustersResponse, plainErrorResponses } from '../clusters/cluster-schemas.ts';
import type { ClusterService } from '../clusters/cluster-service.ts';

/** Seed 001: the admin view of every cluster. Errors are `{"error": "..."}` as the seed shows (see error-handler.ts). */
export const clusterRoutes: FastifyPluginAsyncTypebox<{ clusters: ClusterService }> = async (app, { clusters }) => {
  app.post('/runtime/api/v1/clusters', {
    config: { permission: 'admin' },
    schema: {
      tags: ['clusters'],
      operationId: 'clusters_list',
      body: ListClustersBody,
      response: { 200: ListClustersResponse, ...plainErrorResponses(400, 401, 403, 404, 413, 415, 500, 503) },
    },
    handler: (request) => clusters.list(request.body),
  });
};
