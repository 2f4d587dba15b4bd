// JSON Schemas shared by the routes: path params, the read-basis query fields and their TS shapes.
// They validate requests (ajv) and document them (OpenAPI via @fastify/swagger) from one source.

import type {} from '@fastify/swagger'; // route schemas carry OpenAPI fields (tags, summary)
import { GRAPH_NAME_PATTERN } from '../core/limits.js';

export interface GraphParams {
  graph: string;
}

export interface ReadQuery {
  at?: number;
  asOf?: string;
  minBasis?: number;
}

export const graphParamsSchema = {
  type: 'object',
  required: ['graph'],
  additionalProperties: false,
  properties: {
    graph: { type: 'string', pattern: GRAPH_NAME_PATTERN.source, description: 'graph name' },
  },
} as const;

/** Entity ids, type and attribute names: 1..max chars, no control characters (DESIGN §3). */
export function nameSchema(charsMax: number) {
  return { type: 'string', minLength: 1, maxLength: charsMax, pattern: '^[^\\u0000-\\u001F\\u007F]+$' } as const;
}

export const offsetSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

/** The fields every read accepts to choose its basis (DESIGN §4). */
export const readQueryProperties = {
  at: { ...offsetSchema, description: 'read the slice as of this offset (the tx at it included)' },
  asOf: { type: 'string', format: 'date-time', description: 'read the slice as of this tx time (ISO-8601)' },
  minBasis: { ...offsetSchema, description: 'wait (bounded) until this offset is materialized' },
} as const;

/** A query schema with the read fields plus `extra`, rejecting unknown parameters (typos stay visible). */
export function readQuerySchema<P extends Record<string, object>>(extra: P) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: { ...readQueryProperties, ...extra },
  } as const;
}

export function pageLimitSchema(pageSizeMax: number, pageSizeDefault: number) {
  return { type: 'integer', minimum: 1, maximum: pageSizeMax, default: pageSizeDefault } as const;
}
