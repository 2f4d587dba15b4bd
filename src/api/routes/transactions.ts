// Publish routes: one transaction, or a batch appended to the log in one go (DESIGN §4).
// Bodies are validated by the codec (codec/json.ts), the single judge of what a valid tx is; the route
// schemas only describe them, because ajv's query-string coercion would otherwise rewrite body values.

import type { FastifyInstance } from 'fastify';
import { parseTxJson } from '../../codec/json.js';
import { StrataError } from '../../core/errors.js';
import type { TxInput } from '../../core/types.js';
import type { ApiContext } from '../context.js';
import { publishReply } from '../publish.js';
import { graphParamsSchema, type GraphParams } from '../schemas.js';

/** Longest a client may ask a publish to wait for its outcome: a request must not pin a socket forever. */
export const PUBLISH_WAIT_MS_MAX = 60_000;

interface PublishQuery {
  wait: boolean;
  timeout?: number;
}

const tags = ['transactions'];

/** `?wait=&timeout=` of every route that publishes a tx (transactions, views). */
export const publishQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    wait: { type: 'boolean', default: true, description: 'wait for the outcome (default) or answer 202 once durable on the log' },
    timeout: { type: 'integer', minimum: 0, maximum: PUBLISH_WAIT_MS_MAX, description: 'ms to wait before answering 202 pending' },
  },
} as const;

const txBodySchema = {
  type: 'object',
  description: 'a transaction (DESIGN §3); validated by the codec',
  properties: {
    id: { description: 'optional idempotency key (string ≤ 128 chars, or null)' },
    meta: { description: 'string → string metadata' },
    ops: { description: 'instructions: create, link, set, unset, add, retract, expect, terminate, defineAttr, defineType' },
  },
} as const;

export async function transactionRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { db, limits } = ctx;
  const options = (q: PublishQuery) => ({ wait: q.wait, timeoutMs: q.timeout ?? limits.publishWaitMsDefault });

  app.post<{ Params: GraphParams; Querystring: PublishQuery; Body: unknown }>(
    '/v1/graphs/:graph/transactions',
    {
      bodyLimit: limits.txBodyBytesMax,
      schema: { tags, summary: 'Publish a transaction', params: graphParamsSchema, querystring: publishQuerySchema, body: txBodySchema },
    },
    async (request, reply) => {
      const tx = parseTxJson(request.body, limits);
      const result = await db.transact(request.params.graph, tx, options(request.query));
      ctx.metrics.txPublished.inc();
      const { statusCode, body } = publishReply(result);
      return reply.code(statusCode).send(body);
    },
  );

  // The literal colon of `transactions:batch` is written `::` because a single colon starts a parameter.
  app.post<{ Params: GraphParams; Querystring: PublishQuery; Body: { transactions?: unknown } }>(
    '/v1/graphs/:graph/transactions::batch',
    {
      bodyLimit: limits.batchBodyBytesMax,
      schema: {
        tags,
        summary: `Publish up to ${limits.batchTxMax} transactions in one log append; one result per tx, in order`,
        params: graphParamsSchema,
        querystring: publishQuerySchema,
        body: {
          type: 'object',
          required: ['transactions'],
          properties: { transactions: { description: `array of ≤ ${limits.batchTxMax} transactions` } },
        },
      },
    },
    async (request) => {
      const txs = parseBatch(request.body.transactions, ctx);
      if (txs.length === 0) return { results: [] };
      const results = await db.transactBatch(request.params.graph, txs, options(request.query));
      ctx.metrics.txPublished.inc(txs.length);
      return { results: results.map((r) => publishReply(r).body) };
    },
  );
}

/** Parses every tx of a batch before anything is published: one bad tx rejects the whole batch. */
function parseBatch(raw: unknown, ctx: ApiContext): TxInput[] {
  if (!Array.isArray(raw)) throw new StrataError('invalid_request', 'transactions must be an array', { field: 'transactions' });
  if (raw.length > ctx.limits.batchTxMax) {
    throw new StrataError('too_many_transactions', `a batch holds at most ${ctx.limits.batchTxMax} transactions`, {
      count: raw.length,
      max: ctx.limits.batchTxMax,
    });
  }
  return raw.map((body: unknown, index) => {
    // Each tx of a batch obeys the single-tx size limit too; past it the log would record an
    // undecodable (invalid_record) entry instead of the 413 a single publish gets.
    const bytes = Buffer.byteLength(JSON.stringify(body) ?? '');
    if (bytes > ctx.limits.txBodyBytesMax) {
      throw new StrataError('payload_too_large', `transactions[${index}] exceeds ${ctx.limits.txBodyBytesMax} bytes`, {
        transaction: index,
        bytes,
        max: ctx.limits.txBodyBytesMax,
      });
    }
    try {
      return parseTxJson(body, ctx.limits);
    } catch (err) {
      if (!(err instanceof StrataError)) throw err;
      throw new StrataError(err.code, `transactions[${index}]: ${err.message}`, { ...err.details, transaction: index });
    }
  });
}
