// The log view: transaction reports by offset (outcome, ops, net changes), paged forward from an offset.

import type { FastifyInstance } from 'fastify';
import { reportToJson } from '../../codec/json.js';
import { StrataError } from '../../core/errors.js';
import type { ApiContext } from '../context.js';
import { resolveRead, setBasis } from '../basis.js';
import { graphParamsSchema, offsetSchema, pageLimitSchema, readQueryProperties, readQuerySchema, type GraphParams, type ReadQuery } from '../schemas.js';

const tags = ['transactions'];

export async function txLogRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { db, limits } = ctx;

  app.get<{ Params: GraphParams; Querystring: ReadQuery & { from: number; limit: number } }>(
    '/v1/graphs/:graph/transactions',
    {
      schema: {
        tags,
        summary: 'Read the log: tx reports with offset ≥ from, up to the basis; next = the from of the next page',
        params: graphParamsSchema,
        querystring: readQuerySchema({
          from: { ...offsetSchema, default: 0, description: 'first offset to return' },
          limit: pageLimitSchema(limits.pageSizeMax, limits.pageSizeDefault),
        }),
      },
    },
    async (request, reply) => {
      const { graph } = request.params;
      const basis = await resolveRead(db, graph, request.query, reply);
      const page = await db.txLog(graph, request.query.from, request.query.limit, basis);
      return { basis, items: page.items.map(reportToJson), next: page.next };
    },
  );

  app.get<{ Params: GraphParams & { offset: number }; Querystring: { minBasis?: number } }>(
    '/v1/graphs/:graph/transactions/:offset',
    {
      schema: {
        tags,
        summary: 'One tx report by offset (waits, bounded, if the offset is on the log but not yet materialized)',
        params: {
          type: 'object',
          required: ['graph', 'offset'],
          additionalProperties: false,
          properties: { ...graphParamsSchema.properties, offset: offsetSchema },
        },
        querystring: { type: 'object', additionalProperties: false, properties: { minBasis: readQueryProperties.minBasis } },
      },
    },
    async (request, reply) => {
      const { graph, offset } = request.params;
      // Resolving `at=offset` rejects offsets beyond the log and waits for ones not yet materialized.
      await db.resolveBasis(graph, { at: offset });
      const basis = await db.resolveBasis(graph, { minBasis: request.query.minBasis });
      const report = await db.tx(graph, offset);
      if (report === null) throw new StrataError('tx_not_found', `no transaction at offset ${offset}`, { offset });
      setBasis(reply, basis);
      return { basis, ...reportToJson(report) };
    },
  );
}
