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

const ErrorBody = Type.Object({ error_code: Type.String(), message: Type.String(), details: Type.Object({}, { additionalProperties: true }) });
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 410: ErrorBody, 413: ErrorBody };

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
    schema: { tags, operationId: 'cluster_RegisterNode', body: RegisterNodeRequest, response: { 200: RegisterNodeResponse, ...errors } },
    handler: (request) => nodes.register(principalOf(request), request.body),
  });

  app.post(`${ACTION_PREFIX}cluster_ReportNodeHeartbeat`, {
    config: { permission: 'node' },
    schema: { tags, operationId: 'cluster_ReportNodeHeartbeat', body: HeartbeatRequest, response: { 200: HeartbeatResponse, ...errors } },
    handler: (request) => nodes.heartbeat(principalOf(request), request.body),
  });

  app.post(`${ACTION_PREFIX}cluster_DeregisterNode`, {
    config: { permission: 'node' },
    schema: { tags, operationId: 'cluster_DeregisterNode', body: DeregisterRequest, response: { 200: EmptyResponse, ...errors } },
    handler: async (request) => {
      await nodes.deregister(principalOf(request), request.body);
      return {};
    },
  });

  app.post(`${ACTION_PREFIX}cluster_GetDetails`, {
    config: { permission: 'read' },
    schema: { tags, operationId: 'cluster_GetDetails', body: GetDetailsRequest, response: { 200: GetDetailsResponse, ...errors } },
    handler: async (request) => ({ nodes: await nodes.details(request.body.cluster, request.body.includeTerminated ?? false) }),
  });

  app.post(`${ACTION_PREFIX}cluster_CleanupInactiveNodes`, {
    config: { permission: 'admin' },
    schema: { tags, operationId: 'cluster_CleanupInactiveNodes', body: NoFieldsRequest, response: { 200: EmptyResponse, ...errors } },
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
        ...errors,
      },
    },
    handler: async () => {
      const lift = await sweeper.requestLift();
      return { ...lift, clustersReleased: await clusterNames(store, lift.clustersReleased) };
    },
  });
};
