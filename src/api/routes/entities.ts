// Entity reads as of a basis: one entity, a filtered listing (paged by opaque cursor), an entity's history.

import type { FastifyInstance, FastifyReply } from 'fastify';
import { changeToJson, parseWhereValue } from '../../codec/json.js';
import { StrataError } from '../../core/errors.js';
import type { ListQuery, StrataDb } from '../../core/strata-api.js';
import type { ApiContext } from '../context.js';
import { resolveRead, setBasis } from '../basis.js';
import { sendClientError } from '../errors.js';
import { assertCursorMatches, decodeCursor, encodeCursor, type ListCursor } from '../cursor.js';
import { graphParamsSchema, nameSchema, pageLimitSchema, readQuerySchema, type GraphParams, type ReadQuery } from '../schemas.js';

type EntityParams = GraphParams & { id: string };
type ListingQuery = ReadQuery & { type?: string; where?: string[]; limit: number; cursor?: string };

const tags = ['entities'];

/** Bounds the ANDed `where` filters of one listing: each is an index lookup. */
const WHERE_FILTERS_MAX = 16;
const CURSOR_CHARS_MAX = 4096;

export async function entityRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { db, limits } = ctx;
  const name = nameSchema(limits.idCharsMax);
  const entityParams = {
    type: 'object',
    required: ['graph', 'id'],
    additionalProperties: false,
    properties: { ...graphParamsSchema.properties, id: { ...name, description: 'entity id, percent-encoded' } },
  } as const;

  app.get<{ Params: EntityParams; Querystring: ReadQuery }>(
    '/v1/graphs/:graph/entities/:id',
    { schema: { tags, summary: 'An entity as of the basis', params: entityParams, querystring: readQuerySchema({}) } },
    async (request, reply) => {
      const { graph, id } = request.params;
      const basis = await resolveRead(db, graph, request.query, reply);
      const view = await db.entity(graph, id, basis);
      if (view === null) return sendClientError(reply, 'entity_not_found', `no entity ${JSON.stringify(id)} at offset ${basis}`, { id, basis });
      return { basis, ...view };
    },
  );

  app.get<{ Params: EntityParams; Querystring: ReadQuery }>(
    '/v1/graphs/:graph/entities/:id/history',
    {
      schema: { tags, summary: "Every committed change to an entity up to the basis", params: entityParams, querystring: readQuerySchema({}) },
    },
    async (request, reply) => {
      const { graph, id } = request.params;
      const basis = await resolveRead(db, graph, request.query, reply);
      const entries = await db.history(graph, id, basis);
      if (entries === null) throw new StrataError('entity_not_found', `entity ${JSON.stringify(id)} was never created`, { id, basis });
      const changes = entries.map((e) => ({ offset: e.offset, time: new Date(e.timeMs).toISOString(), ...changeToJson(e.change) }));
      return { basis, id, changes };
    },
  );

  app.get<{ Params: GraphParams; Querystring: ListingQuery }>(
    '/v1/graphs/:graph/entities',
    {
      schema: {
        tags,
        summary: 'Entities by type and attribute values as of the basis; page with `next`',
        params: graphParamsSchema,
        querystring: readQuerySchema({
          type: { ...name, description: 'nodes and edges of this type' },
          where: { type: 'array', maxItems: WHERE_FILTERS_MAX, items: { type: 'string', minLength: 2 }, description: 'attr:value, repeatable, ANDed' },
          limit: pageLimitSchema(limits.pageSizeMax, limits.pageSizeDefault),
          cursor: { type: 'string', minLength: 1, maxLength: CURSOR_CHARS_MAX, description: 'the `next` of the previous page' },
        }),
      },
    },
    async (request, reply) => listEntities(db, request.params.graph, request.query, reply),
  );
}

async function listEntities(db: StrataDb, graph: string, q: ListingQuery, reply: FastifyReply) {
  const type = q.type ?? null;
  const rawWhere = [...(q.where ?? [])].sort();
  const where = rawWhere.map(parseWhere);
  const cursor = q.cursor === undefined ? null : decodeCursor(q.cursor);
  if (cursor !== null) assertCursorMatches(cursor, type, rawWhere);
  const basis = cursor === null ? await resolveRead(db, graph, q, reply) : await cursorBasis(db, graph, q, cursor, reply);
  const query: ListQuery = { where, limit: q.limit };
  if (type !== null) query.type = type;
  if (cursor !== null) query.afterId = cursor.afterId;
  const page = await db.listEntities(graph, query, basis);
  const next = page.nextAfterId === null ? null : encodeCursor({ basis, type, where: rawWhere, afterId: page.nextAfterId });
  return { basis, items: page.items, next };
}

/** `where=attr:value` splits at the first colon; the value is JSON when it parses, else a string. */
function parseWhere(raw: string): { attr: string; value: unknown } {
  const colon = raw.indexOf(':');
  if (colon <= 0) {
    throw new StrataError('invalid_request', `where must be attr:value, got ${JSON.stringify(raw)}`, { field: 'where', value: raw });
  }
  return { attr: raw.slice(0, colon), value: parseWhereValue(raw.slice(colon + 1)) };
}

/**
 * A later page reads the cursor's basis. Resolving it again validates a forged offset and makes a
 * replica that is behind wait for it; an explicit at/asOf/minBasis must agree with the cursor.
 */
async function cursorBasis(db: StrataDb, graph: string, q: ReadQuery, cursor: ListCursor, reply: FastifyReply): Promise<number> {
  const basis = await db.resolveBasis(graph, { at: cursor.basis });
  const mismatch = (reason: string) => new StrataError('invalid_cursor', `invalid cursor: ${reason}`, { reason, cursorBasis: basis });
  if (q.at !== undefined || q.asOf !== undefined) {
    const asked = await db.resolveBasis(graph, q.asOf !== undefined ? { asOf: q.asOf } : { at: q.at });
    if (asked !== basis) throw mismatch('at/asOf differs from the basis of the listing');
  }
  if (q.minBasis !== undefined && basis < q.minBasis) throw mismatch('minBasis is after the basis of the listing');
  setBasis(reply, basis);
  return basis;
}
