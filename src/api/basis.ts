// Resolves the basis of a read from `at` / `asOf` / `minBasis` and stamps it on the response
// (header `Strata-Basis`), so every read says which slice it was evaluated against.

import type { FastifyReply } from 'fastify';
import { StrataError } from '../core/errors.js';
import type { StrataDb } from '../core/strata-api.js';
import type { ReadQuery } from './schemas.js';

export const BASIS_HEADER = 'Strata-Basis';

/** The read options of a query; `at` and `asOf` name the basis two ways, so only one may be given. */
export function readOptions(query: ReadQuery): ReadQuery {
  if (query.at !== undefined && query.asOf !== undefined) {
    throw new StrataError('invalid_request', 'give at= or asOf=, not both', { fields: ['at', 'asOf'] });
  }
  const options: ReadQuery = {};
  if (query.at !== undefined) options.at = query.at;
  if (query.asOf !== undefined) options.asOf = query.asOf;
  if (query.minBasis !== undefined) options.minBasis = query.minBasis;
  return options;
}

export async function resolveRead(db: StrataDb, graph: string, query: ReadQuery, reply: FastifyReply): Promise<number> {
  const basis = await db.resolveBasis(graph, readOptions(query));
  setBasis(reply, basis);
  return basis;
}

export function setBasis(reply: FastifyReply, basis: number): void {
  reply.header(BASIS_HEADER, String(basis));
}
