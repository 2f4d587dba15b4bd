// The query route (DESIGN §4): a declarative query in its JSON form (docs/query.md), evaluated as of
// the basis named in the body or the query string, optionally over speculative `with` ops.

import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { readOptions, setBasis } from '../basis.js';
import { graphParamsSchema, readQuerySchema, type GraphParams, type ReadQuery } from '../schemas.js';

// The body is only described here: the query parser (query/lang/parse.ts) is the single judge of a
// valid query and reports every fault with its JSON pointer; ajv's coercion must not rewrite values.
const queryBodySchema = {
  description: 'a query: {find, where, orderBy?, limit?, offset?, at?, asOf?, with?, timeoutMs?, explain?} (docs/query.md)',
} as const;

export async function queryRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { db } = ctx;
  app.post<{ Params: GraphParams; Querystring: ReadQuery; Body: unknown }>(
    '/v1/graphs/:graph/query',
    {
      schema: {
        tags: ['query'],
        summary: 'Evaluate a declarative query as of any offset, or speculatively over `with` ops (nothing logged)',
        params: graphParamsSchema,
        querystring: readQuerySchema({}),
        body: queryBodySchema,
      },
    },
    async (request, reply) => {
      const result = await db.query(request.params.graph, request.body, readOptions(request.query));
      setBasis(reply, result.basis);
      return result;
    },
  );
}
