// The diff route: net changes turning slice `from` into slice `to` (inverse changes when from > to).

import type { FastifyInstance } from 'fastify';
import { changeToJson } from '../../codec/json.js';
import type { DiffFilter, StrataDb } from '../../core/strata-api.js';
import type { ApiContext } from '../context.js';
import { setBasis } from '../basis.js';
import { graphParamsSchema, nameSchema, readQueryProperties, type GraphParams } from '../schemas.js';

interface DiffQuery {
  from: number;
  to?: number;
  minBasis?: number;
  type?: string;
  id?: string;
}

/** -1 names the empty slice before the first transaction, so `from=-1` diffs a whole prefix. */
const sliceOffset = { type: 'integer', minimum: -1, maximum: Number.MAX_SAFE_INTEGER } as const;

export async function diffRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { db, limits } = ctx;
  const name = nameSchema(limits.idCharsMax);

  app.get<{ Params: GraphParams; Querystring: DiffQuery }>(
    '/v1/graphs/:graph/diff',
    {
      schema: {
        tags: ['diff'],
        summary: 'Net changes from slice `from` to slice `to` (default: latest); covers the txs in (from, to]',
        params: graphParamsSchema,
        querystring: {
          type: 'object',
          required: ['from'],
          additionalProperties: false,
          properties: {
            from: { ...sliceOffset, description: 'offset of slice A (-1: the empty slice)' },
            to: { ...sliceOffset, description: 'offset of slice B (default: the latest materialized offset)' },
            minBasis: readQueryProperties.minBasis,
            type: { ...name, description: 'only changes of entities of this type' },
            id: { ...name, description: 'only changes of this entity' },
          },
        },
      },
    },
    async (request, reply) => {
      const { graph } = request.params;
      const q = request.query;
      const to = q.to === undefined ? await db.resolveBasis(graph, { minBasis: q.minBasis }) : await resolveSlice(db, graph, q.to);
      const from = await resolveSlice(db, graph, q.from);
      const filter: DiffFilter = {};
      if (q.type !== undefined) filter.type = q.type;
      if (q.id !== undefined) filter.id = q.id;
      const changes = await db.diff(graph, from, to, filter);
      setBasis(reply, to);
      return { basis: to, from, to, changes: changes.map(changeToJson) };
    },
  );
}

/** Validates a slice offset against the log (and waits for it to be materialized); -1 stays -1. */
async function resolveSlice(db: StrataDb, graph: string, offset: number): Promise<number> {
  if (offset < 0) {
    await db.graphInfo(graph); // still 404 for an unknown graph
    return -1;
  }
  return db.resolveBasis(graph, { at: offset });
}
