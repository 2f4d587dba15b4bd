// Graph routes: list the graphs, describe one (offsets, counts, schema), create one explicitly (PUT).

import type { FastifyInstance } from 'fastify';
import { StrataError } from '../../core/errors.js';
import type { ApiContext } from '../context.js';
import { setBasis } from '../basis.js';
import { graphParamsSchema, readQueryProperties, type GraphParams } from '../schemas.js';

const tags = ['graphs'];

export async function graphRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { db } = ctx;

  app.get('/v1/graphs', { schema: { tags, summary: 'List graphs' } }, async () => {
    return { graphs: await db.listGraphs() };
  });

  app.get<{ Params: GraphParams; Querystring: { minBasis?: number } }>(
    '/v1/graphs/:graph',
    {
      schema: {
        tags,
        summary: 'Describe a graph: latest and materialized offsets, counts, schema',
        params: graphParamsSchema,
        querystring: { type: 'object', additionalProperties: false, properties: { minBasis: readQueryProperties.minBasis } },
      },
    },
    async (request, reply) => {
      const { graph } = request.params;
      if (request.query.minBasis !== undefined) await db.resolveBasis(graph, { minBasis: request.query.minBasis });
      const info = await db.graphInfo(graph);
      setBasis(reply, info.materializedOffset);
      return { basis: info.materializedOffset, ...info };
    },
  );

  app.put<{ Params: GraphParams }>(
    '/v1/graphs/:graph',
    { schema: { tags, summary: 'Create a graph (idempotent): 201 when created, 200 when it existed', params: graphParamsSchema } },
    async (request, reply) => {
      const { graph } = request.params;
      const existed = await graphExists(ctx, graph);
      const info = await db.createGraph(graph);
      return reply.code(existed ? 200 : 201).send(info);
    },
  );
}

async function graphExists(ctx: ApiContext, graph: string): Promise<boolean> {
  try {
    await ctx.db.graphInfo(graph);
    return true;
  } catch (err) {
    if (err instanceof StrataError && err.code === 'graph_not_found') return false;
    throw err;
  }
}
