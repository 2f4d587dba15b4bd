// Materialized view routes (DESIGN §6): define (PUT) and retire (DELETE) as txs on the log, read the
// definitions and the rows as of any offset (paged), and stream a view's deltas over SSE, resumable.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StrataError } from '../../core/errors.js';
import { VIEW_NAME_PATTERN } from '../../core/limits.js';
import type { ReadOptions } from '../../core/strata-api.js';
import { principalOf } from '../auth.js';
import type { ApiContext } from '../context.js';
import { readOptions, resolveRead, setBasis } from '../basis.js';
import { publishReply } from '../publish.js';
import { graphParamsSchema, offsetSchema, pageLimitSchema, readQuerySchema, type GraphParams, type ReadQuery } from '../schemas.js';
import { resumeOffset } from '../sse-clients.js';
import { runViewSseStream } from '../view-sse.js';
import { PUBLISH_WAIT_MS_MAX, publishQuerySchema } from './transactions.js';

type ViewParams = GraphParams & { name: string };
type RowsQuery = ReadQuery & { limit: number; cursor?: string };

const tags = ['views'];
const CURSOR_CHARS_MAX = 4096;

const viewParamsSchema = {
  type: 'object',
  required: ['graph', 'name'],
  additionalProperties: false,
  properties: {
    ...graphParamsSchema.properties,
    name: { type: 'string', pattern: VIEW_NAME_PATTERN.source, description: 'view name (the graph name rule)' },
  },
} as const;

/** A rows cursor names its view and basis, so every page of one listing reads the same slice. */
interface RowsCursor {
  view: string;
  basis: number;
  after: string;
}

function encodeRowsCursor(c: RowsCursor): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

function decodeRowsCursor(text: string, view: string): RowsCursor {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    raw = null;
  }
  const c = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const ok = c['view'] === view && Number.isSafeInteger(c['basis']) && (c['basis'] as number) >= 0 && typeof c['after'] === 'string';
  if (!ok) throw new StrataError('invalid_cursor', 'invalid cursor: not a cursor of this view returned by this API', { reason: 'cursor' });
  return { view, basis: c['basis'] as number, after: c['after'] as string };
}

export async function viewRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  definitionRoutes(app, ctx);
  readRoutes(app, ctx);
  viewEventsRoute(app, ctx);
}

/** PUT and DELETE: each publishes one tx, answered like a publish. */
function definitionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, limits } = ctx;
  const publishOptions = (q: { wait: boolean; timeout?: number }) => ({ wait: q.wait, timeoutMs: q.timeout ?? limits.publishWaitMsDefault });

  app.put<{ Params: ViewParams; Querystring: { wait: boolean; timeout?: number }; Body: { query?: unknown } }>(
    '/v1/graphs/:graph/views/:name',
    {
      schema: {
        tags,
        summary: 'Define or redefine a view: checks the query, then publishes a tx with a defineView op',
        params: viewParamsSchema,
        querystring: publishQuerySchema,
        // The query is only described: the query parser is its one judge (invalid_query with a pointer).
        body: { type: 'object', required: ['query'], additionalProperties: false, properties: { query: { description: 'a query {find, where} (docs/query.md, "Views")' } } },
      },
    },
    async (request, reply) => {
      const { graph, name } = request.params;
      const result = await db.defineView(graph, name, request.body.query, { ...publishOptions(request.query), author: principalOf(request) });
      ctx.metrics.txPublished.inc();
      const { statusCode, body } = publishReply(result);
      return reply.code(statusCode).send({ ...body, view: name });
    },
  );

  app.delete<{ Params: ViewParams; Querystring: { wait: boolean; timeout?: number } }>(
    '/v1/graphs/:graph/views/:name',
    { schema: { tags, summary: 'Retire a view: publishes a tx with a retireView op; its rows end there', params: viewParamsSchema, querystring: publishQuerySchema } },
    async (request, reply) => {
      const { graph, name } = request.params;
      const result = await db.retireView(graph, name, { ...publishOptions(request.query), author: principalOf(request) });
      ctx.metrics.txPublished.inc();
      const { statusCode, body } = publishReply(result);
      return reply.code(statusCode).send({ ...body, view: name });
    },
  );

}

function readRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, limits } = ctx;
  app.get<{ Params: GraphParams; Querystring: ReadQuery }>(
    '/v1/graphs/:graph/views',
    { schema: { tags, summary: 'The views defined as of the basis', params: graphParamsSchema, querystring: readQuerySchema({}) } },
    async (request, reply) => {
      const basis = await resolveRead(db, request.params.graph, request.query, reply);
      return { basis, views: await db.views(request.params.graph, basis) };
    },
  );

  app.get<{ Params: ViewParams; Querystring: ReadQuery }>(
    '/v1/graphs/:graph/views/:name',
    { schema: { tags, summary: 'A view as of the basis: its query, columns, definition offset and maintained offset', params: viewParamsSchema, querystring: readQuerySchema({}) } },
    async (request, reply) => {
      const basis = await resolveRead(db, request.params.graph, request.query, reply);
      return { basis, ...(await db.view(request.params.graph, request.params.name, basis)) };
    },
  );

  app.get<{ Params: ViewParams; Querystring: RowsQuery }>(
    '/v1/graphs/:graph/views/:name/rows',
    {
      schema: {
        tags,
        summary: "A view's rows as of any offset since it was defined, in row-key order; page with `next`",
        params: viewParamsSchema,
        querystring: readQuerySchema({
          limit: pageLimitSchema(limits.pageSizeMax, limits.pageSizeDefault),
          cursor: { type: 'string', minLength: 1, maxLength: CURSOR_CHARS_MAX, description: 'the `next` of the previous page' },
        }),
      },
    },
    async (request, reply) => {
      const { graph, name } = request.params;
      const q = request.query;
      const cursor = q.cursor === undefined ? null : decodeRowsCursor(q.cursor, name);
      const options: ReadOptions = cursor === null ? readOptions(q) : { at: cursor.basis };
      const page = await db.viewRows(graph, name, options, { limit: q.limit, ...(cursor === null ? {} : { after: cursor.after }) });
      setBasis(reply, page.basis);
      const next = page.next === null ? null : encodeRowsCursor({ view: name, basis: page.basis, after: page.next });
      return { basis: page.basis, columns: page.columns, rows: page.rows, next };
    },
  );
}

function viewEventsRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: ViewParams; Querystring: { from?: number } }>(
    '/v1/graphs/:graph/views/:name/events',
    {
      schema: {
        tags,
        summary: "SSE stream of a view's deltas (event: delta, id: offset); resume with Last-Event-ID or from=",
        params: viewParamsSchema,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { from: { ...offsetSchema, description: 'first offset to deliver (default: only new deltas); Last-Event-ID wins' } },
        },
      },
    },
    async (request, reply) => {
      const from = await startOffset(ctx, request);
      ctx.sseClients.checkRoom();
      await stream(ctx, request, reply, from);
    },
  );
}

/** `Last-Event-ID: N` resumes after N and wins over `from=`; the view must have been defined at some point. */
async function startOffset(ctx: ApiContext, request: FastifyRequest<{ Params: ViewParams; Querystring: { from?: number } }>): Promise<number | undefined> {
  const { graph, name } = request.params;
  const from = resumeOffset(request);
  const info = await ctx.db.graphInfo(graph);
  if (from !== undefined && from > info.latestOffset + 1) {
    throw new StrataError('offset_out_of_range', `offset ${from} is beyond the end of the log`, { from, latestOffset: info.latestOffset });
  }
  // Fails with view_not_found before the reply is hijacked (the iterable checks when it is created).
  ctx.db.subscribeView(graph, name, from, { signal: AbortSignal.abort(), bufferMax: 1 });
  return from;
}

async function stream(ctx: ApiContext, request: FastifyRequest<{ Params: ViewParams }>, reply: FastifyReply, from: number | undefined): Promise<void> {
  await ctx.sseClients.serve(reply, (signal) =>
    runViewSseStream(reply.raw, {
      db: ctx.db,
      graph: request.params.graph,
      view: request.params.name,
      from,
      heartbeatMs: ctx.limits.sseHeartbeatMs,
      bufferMax: ctx.limits.sseBufferEventsMax,
      signal,
      log: request.log,
    }),
  );
}
