import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Logger } from '../../shared/logger.ts';
import { ApiError } from '../../shared/errors.ts';
import { NameText } from '../../shared/protocol.ts';
import type { Store } from '../store/store.ts';
import { TRANSITION_KINDS, type TransitionKind } from '../store/transitions.ts';
import type { TransitionFeed } from '../watch/transition-feed.ts';
import { WatchStream, resumePoint } from '../watch/watch-stream.ts';

const KIND = `(?:${TRANSITION_KINDS.join('|')})`;

export const WatchQuery = Type.Object({
  cluster: Type.Optional(NameText(128)),
  /** Comma-separated kinds; every kind when absent. */
  kind: Type.Optional(Type.String({ pattern: `^${KIND}(?:,${KIND})*$`, maxLength: 200 })),
});

const LAST_EVENT_ID = /^(?:0|[1-9][0-9]{0,14})$/;

export interface WatchRouteDeps {
  store: Store;
  feed: TransitionFeed;
  logger: Logger;
}

/**
 * GET /api/v1/watch: every transition of every node as server-sent events (reader or admin).
 * Not in /openapi.json: OpenAPI 3.0 cannot describe an event stream, and a client walking the
 * document (the fuzz campaign) would wait on it forever.
 */
export const watchRoutes: FastifyPluginAsyncTypebox<WatchRouteDeps> = async (app, { store, feed, logger }) => {
  app.get('/api/v1/watch', {
    config: { permission: 'read' },
    schema: { hide: true, querystring: WatchQuery },
    handler: async (request, reply) => {
      const header = request.headers['last-event-id'];
      if (header !== undefined && (typeof header !== 'string' || !LAST_EVENT_ID.test(header.trim()))) {
        throw new ApiError('InvalidRequest', 'Last-Event-ID must be the id of an event of this stream (a non-negative integer)', { header: 'last-event-id' });
      }
      let clusterId: number | undefined;
      if (request.query.cluster !== undefined) {
        const cluster = await store.findClusterByName(request.query.cluster);
        if (!cluster) throw new ApiError('NotFound', `No cluster named ${request.query.cluster}`, { cluster: request.query.cluster });
        clusterId = cluster.id;
      }
      const kinds = request.query.kind === undefined ? undefined : new Set(request.query.kind.split(',') as TransitionKind[]);
      const resume = resumePoint(header === undefined ? undefined : Number(header.trim()), await store.transitionIdRange());
      const stream = new WatchStream(reply.raw, { clusterId, kinds }, logger);
      const liveAfter = await feed.subscribe(stream);
      reply.hijack();
      reply.raw.on('close', () => {
        feed.unsubscribe(stream);
        stream.close();
      });
      try {
        await stream.begin(resume, liveAfter, store);
      } catch (error) {
        // The headers are out: end the stream, and the client resumes with its Last-Event-ID.
        logger.warn('watch stream: catching up from the transitions log failed; closing the stream', { error });
        stream.close();
      }
    },
  });
};
