// The subscription route (DESIGN §5): an SSE stream of tx reports, resumable, filterable, bounded.
// Everything that can fail with a status (unknown graph, bad offset, client limit) is checked before
// the reply is hijacked; after that the stream reports problems as events.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StrataError } from '../../core/errors.js';
import type { StrataDb } from '../../core/strata-api.js';
import type { ApiContext } from '../context.js';
import { offsetSchema, graphParamsSchema, type GraphParams } from '../schemas.js';
import { ChangeFilter, parseList, type TypeLookup } from '../sse-filter.js';
import { resumeOffset } from '../sse-clients.js';
import { runSseStream } from '../sse-stream.js';

interface EventsQuery {
  from?: number;
  types?: string;
  ids?: string;
  attrs?: string;
}

const listSchema = (what: string) => ({ type: 'string', maxLength: 65_536, description: `comma-separated ${what}` }) as const;

export async function eventRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Params: GraphParams; Querystring: EventsQuery }>(
    '/v1/graphs/:graph/events',
    {
      schema: {
        tags: ['events'],
        summary: 'SSE stream of tx reports (event: tx, id: offset); resume with Last-Event-ID or from=',
        params: graphParamsSchema,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { ...offsetSchema, description: 'first offset to deliver (default: only new txs); Last-Event-ID wins' },
            types: listSchema('entity types'),
            ids: listSchema('entity ids'),
            attrs: listSchema('attribute names'),
          },
        },
      },
    },
    async (request, reply) => {
      const { graph } = request.params;
      const from = await startOffset(ctx.db, graph, request);
      ctx.sseClients.checkRoom();
      await stream(ctx, request, reply, from);
    },
  );
}

async function stream(
  ctx: ApiContext,
  request: FastifyRequest<{ Params: GraphParams; Querystring: EventsQuery }>,
  reply: FastifyReply,
  from: number | undefined,
): Promise<void> {
  const { graph } = request.params;
  const q = request.query;
  const filter = new ChangeFilter(
    { types: parseList(q.types), ids: parseList(q.ids), attrs: parseList(q.attrs) },
    typeLookup(ctx.db, graph),
  );
  await ctx.sseClients.serve(reply, (signal) =>
    runSseStream(reply.raw, {
      db: ctx.db,
      graph,
      from,
      filter,
      heartbeatMs: ctx.limits.sseHeartbeatMs,
      bufferMax: ctx.limits.sseBufferEventsMax,
      signal,
      log: request.log,
    }),
  );
}

/** `Last-Event-ID: N` resumes after N and wins over `from=`; no position means only new txs. */
async function startOffset(db: StrataDb, graph: string, request: FastifyRequest<{ Querystring: EventsQuery }>): Promise<number | undefined> {
  const from = resumeOffset(request);
  const info = await db.graphInfo(graph); // 404 before the stream starts
  if (from !== undefined && from > info.latestOffset + 1) {
    throw new StrataError('offset_out_of_range', `offset ${from} is beyond the end of the log`, { from, latestOffset: info.latestOffset });
  }
  return from;
}

function typeLookup(db: StrataDb, graph: string): TypeLookup {
  return async (id, offset) => {
    const view = (await db.entity(graph, id, offset)) ?? (offset > 0 ? await db.entity(graph, id, offset - 1) : null);
    return view === null ? null : view.type;
  };
}
