import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  CreateInstanceBody,
  HealthCheckStarted,
  HealthView,
  Instance,
  InstanceListQuery,
  InstancePage,
  InstanceParams,
  PatchInstanceBody,
} from '../instances/instance-schemas.ts';
import { HistoryPage, HistoryQuery } from '../history/history-schemas.ts';
import type { HistoryService } from '../history/history-service.ts';
import { INSTANCES_PATH, type InstanceService } from '../instances/instance-service.ts';
import { errorResponses } from './error-schemas.ts';

/** Seeds 002/003: AWX's instance API under /api/v2/instances/ (trailing slashes as AWX has them). */
export const instanceRoutes: FastifyPluginAsyncTypebox<{ instances: InstanceService; history: HistoryService }> = async (app, { instances, history }) => {
  const tags = ['instances'];
  const one = `${INSTANCES_PATH}:id/`;

  app.get(INSTANCES_PATH, {
    config: { permission: 'read' },
    schema: { tags, operationId: 'instances_list', querystring: InstanceListQuery, response: { 200: InstancePage, ...errorResponses(404) } },
    handler: (request) => instances.list(request.query),
  });

  app.post(INSTANCES_PATH, {
    config: { permission: 'admin' },
    schema: { tags, operationId: 'instances_create', body: CreateInstanceBody, response: { 201: Instance, ...errorResponses(409) } },
    handler: async (request, reply) => reply.code(201).send(await instances.create(request.body)),
  });

  app.get(one, {
    config: { permission: 'read' },
    schema: { tags, operationId: 'instances_read', params: InstanceParams, response: { 200: Instance, ...errorResponses(404) } },
    handler: (request) => instances.get(request.params.id),
  });

  app.patch(one, {
    config: { permission: 'admin' },
    schema: {
      tags,
      operationId: 'instances_partial_update',
      params: InstanceParams,
      body: PatchInstanceBody,
      response: { 200: Instance, ...errorResponses(404, 409) },
    },
    handler: (request) => instances.update(request.params.id, request.body),
  });

  app.delete(one, {
    config: { permission: 'admin' },
    schema: { tags, operationId: 'instances_delete', params: InstanceParams, response: { 204: Type.Null(), ...errorResponses(404, 409) } },
    handler: async (request, reply) => {
      await instances.remove(request.params.id);
      return reply.code(204).send(null);
    },
  });

  app.get(`${one}health_check/`, {
    config: { permission: 'read' },
    schema: { tags, operationId: 'instances_health_check_read', params: InstanceParams, response: { 200: HealthView, ...errorResponses(404) } },
    handler: (request) => instances.healthView(request.params.id),
  });

  app.post(`${one}health_check/`, {
    config: { permission: 'admin' },
    schema: {
      tags,
      operationId: 'instances_health_check_create',
      params: InstanceParams,
      response: { 200: HealthCheckStarted, ...errorResponses(404) },
    },
    handler: (request) => instances.requestHealthCheck(request.params.id),
  });

  app.get(`${one}history/`, {
    config: { permission: 'read' },
    schema: {
      tags,
      operationId: 'instances_history_list',
      description: "Every transition of the instance's nodes with its evidence, newest first: registrations (with the outage verdict of a host that came back), terminations, refused registrations",
      params: InstanceParams,
      querystring: HistoryQuery,
      response: { 200: HistoryPage, ...errorResponses(404) },
    },
    handler: (request) => history.list(request.params.id, request.query),
  });
};
