// The determinism probe: a checksum of the slice as of a basis (docs/api.md, "Checksum"). Replicas
// that materialized the same log answer the same bytes; operators compare them after a rebuild.

import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { resolveRead } from '../basis.js';
import { graphParamsSchema, readQuerySchema, type GraphParams, type ReadQuery } from '../schemas.js';

export async function checksumRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { db } = ctx;

  app.get<{ Params: GraphParams; Querystring: ReadQuery }>(
    '/v1/graphs/:graph/checksum',
    {
      schema: {
        tags: ['graphs'],
        summary: 'SHA-256 of the slice as of the basis (schema + every live entity); equal on every replica of the same log',
        params: graphParamsSchema,
        querystring: readQuerySchema({}),
      },
    },
    async (request, reply) => {
      const { graph } = request.params;
      const basis = await resolveRead(db, graph, request.query, reply);
      return db.checksum(graph, basis);
    },
  );
}
