import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  ACTION_PREFIX,
  DeregisterRequest,
  EmptyResponse,
  GetDetailsRequest,
  GetDetailsResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  NoFieldsRequest,
  RegisterNodeRequest,
  RegisterNodeResponse,
} from '../../shared/protocol.ts';
import { principalOf } from '../http/auth-hook.ts';
import type { NodeService } from '../node-service.ts';
import type { Store } from '../store/store.ts';
import { clusterNames } from '../clusters/cluster-names.ts';
import type { Sweeper } from '../sweeper/sweeper.ts';
import { errorResponses } from './error-schemas.ts';


export interface ClusterActionsDeps {
  nodes: NodeService;
  sweeper: Sweeper;
  store: Store;
}

/** Seed 000's actions, `POST /api/v1/actions/invoke/<action>`, plus cluster_DeregisterNode. */
export const clusterActions: FastifyPluginAsyncTypebox<ClusterActionsDeps> = async (app, { nodes, sweeper, store }) => {
  const tags = ['cluster'];

  app.post(`${ACTION_PREFIX}cluster_RegisterNode`, {
    config: { permission: 'enroll' },
    schema: { tags, operationId: 'cluster_RegisterNode', body: RegisterNodeRequest, response: { 200: RegisterNodeResponse, ...errorResponses(409) } },
    handler: (request) => nodes.register(principalOf(request), request.body, request.ip),
  });

  app.post(`${ACTION_PREFIX}cluster_ReportNodeHeartbeat`, {
    config: { permission: 'node' },
    schema: { tags, operationId: 'cluster_ReportNodeHeartbeat', body: HeartbeatRequest, response: { 200: HeartbeatResponse, ...errorResponses(410) } },
    handler: (request) => nodes.heartbeat(principalOf(request), request.body),
  });

  app.post(`${ACTION_PREFIX}cluster_DeregisterNode`, {
    config: { permission: 'node' },
    schema: { tags, operationId: 'cluster_DeregisterNode', body: DeregisterRequest, response: { 200: EmptyResponse, ...errorResponses(410) } },
    handler: async (request) => {
      await nodes.deregister(principalOf(request), request.body);
      return {};
    },
  });

  app.post(`${ACTION_PREFIX}cluster_GetDetails`, {
    config: { permission: 'read' },
    schema: { tags, operationId: 'cluster_GetDetails', body: GetDetailsRequest, response: { 200: GetDetailsResponse } },
    handler: async (request) => ({ nodes: await nodes.details(request.body.cluster, request.body.includeTerminated ?? false) }),
  });

  app.post(`${ACTION_PREFIX}cluster_CleanupInactiveNodes`, {
    config: { permission: 'admin' },
    schema: { tags, operationId: 'cluster_CleanupInactiveNodes', body: NoFieldsRequest, response: { 200: EmptyResponse } },
    handler: async () => {
      await sweeper.sweep();
      return {};
    },
  });

  app.post(`${ACTION_PREFIX}coordinator_LiftSafetyHolds`, {
    config: { permission: 'admin' },
    schema: {
      tags: ['coordinator'],
      operationId: 'coordinator_LiftSafetyHolds',
      body: NoFieldsRequest,
      response: {
        200: Type.Object({
          graceLifted: Type.Boolean(),
          /** Names of the clusters whose held terminations now go ahead. */
          clustersReleased: Type.Array(Type.String()),
          /** False: another replica sweeps; it applies the lift on its next tick. */
          appliedHere: Type.Boolean(),
        }),
      },
    },
    handler: async () => {
      const lift = await sweeper.requestLift();
      return { ...lift, clustersReleased: await clusterNames(store, lift.clustersReleased) };
    },
  });
};
