// Access control, audit, rate limits and CORS (docs/security.md). With tokens configured, every route
// but the probes and the API docs needs a bearer token whose scopes cover the graph; publishes record
// the token's principal as `meta.author`. Without tokens nothing is installed (dev mode, loopback only).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import { StrataError } from '../core/errors.js';
import { findToken, hasScope, type Scope, type TokenEntry } from './tokens.js';

export interface SecurityOptions {
  /** Empty: dev mode, no access control (the CLI then only binds loopback addresses). */
  tokens: readonly TokenEntry[];
  /** Default per-token (or, before authentication, per-address) request budget. */
  rateLimit: { max: number; windowMs: number };
  /** Origins allowed by CORS; empty: CORS off (no CORS headers at all). */
  corsOrigins: readonly string[];
}

/** Routes anyone may call: probes (kubelets carry no tokens) and the OpenAPI document. */
const PUBLIC_ROUTES = new Set(['/healthz', '/readyz', '/docs', '/docs/openapi.json']);
const GRAPH_ROUTE_PREFIX = '/v1/graphs/:graph';
const PUBLISH_ROUTE = '/v1/graphs/:graph/transactions';
const BATCH_ROUTES = new Set(['/v1/graphs/:graph/transactions::batch', '/v1/graphs/:graph/transactions:batch']);

type Access = { kind: 'public' } | { kind: 'authenticated' } | { kind: 'graph'; graph: string; scope: Scope };

/** What a request needs: reads need `read`, publishes `write`, anything else on a graph `admin`. */
export function accessFor(method: string, url: string | undefined, params: unknown): Access {
  // A CORS preflight carries no credentials by design; it reveals nothing and changes nothing.
  if (method === 'OPTIONS' || (url !== undefined && PUBLIC_ROUTES.has(url))) return { kind: 'public' };
  const graph = typeof params === 'object' && params !== null ? (params as { graph?: unknown }).graph : undefined;
  if (url === undefined || !url.startsWith(GRAPH_ROUTE_PREFIX) || typeof graph !== 'string') return { kind: 'authenticated' };
  if (method === 'GET' || method === 'HEAD') return { kind: 'graph', graph, scope: 'read' };
  if (method === 'POST' && url === `${GRAPH_ROUTE_PREFIX}/query`) return { kind: 'graph', graph, scope: 'read' };
  if (method === 'POST' && (url === PUBLISH_ROUTE || BATCH_ROUTES.has(url))) return { kind: 'graph', graph, scope: 'write' };
  return { kind: 'graph', graph, scope: 'admin' };
}

/** The presented bearer token, or null when the header is absent or not `Bearer <token>`. */
function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer +([\x21-\x7e]{1,512})\s*$/i.exec(header);
  return match ? match[1]! : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Audit: `meta.author` is the principal, whatever the body says. A different claimed author is kept as
 * `meta.claimedAuthor` (reserved: a body's own `claimedAuthor` is dropped). Bodies that are not objects
 * are left to the codec, which rejects them.
 */
export function stampAuthor(tx: unknown, principal: string): void {
  if (!isObject(tx)) return;
  if (tx['meta'] === undefined) tx['meta'] = { author: principal };
  const meta = tx['meta'];
  if (!isObject(meta)) return;
  const claimed = meta['author'];
  delete meta['claimedAuthor'];
  if (claimed !== undefined && claimed !== principal) meta['claimedAuthor'] = claimed;
  meta['author'] = principal;
}

function installAuth(app: FastifyInstance, tokens: readonly TokenEntry[], identities: WeakMap<FastifyRequest, TokenEntry>): void {
  // Identify first (onRequest) and decide later (preParsing), so the rate limiter, which runs between
  // the two, also counts requests with bad tokens (per address); bodies are never read before the decision.
  app.addHook('onRequest', async (request) => {
    const presented = bearer(request);
    const entry = presented === null ? null : findToken(tokens, presented);
    if (entry !== null) identities.set(request, entry);
  });
  app.addHook('preParsing', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    const access = accessFor(request.method, request.routeOptions.url, request.params);
    if (access.kind === 'public') return payload;
    const entry = identities.get(request);
    if (entry === undefined) {
      reply.header('www-authenticate', 'Bearer realm="strata"');
      const reason = request.headers.authorization === undefined ? 'no Authorization header' : 'the bearer token is malformed or unknown';
      throw new StrataError('unauthorized', `a bearer token is required (${reason})`);
    }
    if (access.kind === 'graph' && !hasScope(entry, access.graph, access.scope)) {
      throw new StrataError('forbidden', `the token of ${JSON.stringify(entry.principal)} lacks the ${access.scope} scope on graph ${JSON.stringify(access.graph)}`, { graph: access.graph, scope: access.scope });
    }
    return payload;
  });
  app.addHook('preHandler', async (request) => {
    const entry = identities.get(request);
    const url = request.routeOptions.url;
    if (entry === undefined || request.method !== 'POST' || url === undefined) return;
    if (url === PUBLISH_ROUTE) stampAuthor(request.body, entry.principal);
    if (BATCH_ROUTES.has(url) && isObject(request.body) && Array.isArray(request.body['transactions'])) {
      for (const tx of request.body['transactions']) stampAuthor(tx, entry.principal);
    }
  });
  // The graph listing shows only graphs the token may read.
  app.addHook('preSerialization', async (request: FastifyRequest, _reply: FastifyReply, payload: unknown) => {
    const entry = identities.get(request);
    if (entry === undefined || request.method !== 'GET' || request.routeOptions.url !== '/v1/graphs' || !isObject(payload)) return payload;
    const graphs = payload['graphs'];
    if (!Array.isArray(graphs)) return payload;
    return { ...payload, graphs: graphs.filter((g: { name?: unknown }) => typeof g.name === 'string' && hasScope(entry, g.name, 'read')) };
  });
}

async function installRateLimit(app: FastifyInstance, options: SecurityOptions, identities: WeakMap<FastifyRequest, TokenEntry>): Promise<void> {
  const entryOf = (request: FastifyRequest) => identities.get(request);
  await app.register(rateLimit, {
    global: true,
    keyGenerator: (request) => {
      const entry = entryOf(request);
      return entry === undefined ? `address:${request.ip}` : `principal:${entry.principal}`;
    },
    max: (request) => entryOf(request)?.rateLimit?.max ?? options.rateLimit.max,
    timeWindow: (request) => entryOf(request)?.rateLimit?.windowMs ?? options.rateLimit.windowMs,
    allowList: (request) => request.routeOptions.url !== undefined && PUBLIC_ROUTES.has(request.routeOptions.url),
    errorResponseBuilder: (_request, context) =>
      new StrataError('rate_limited', `rate limit of ${context.max} requests exceeded; retry in ${context.after}`, { max: context.max, retryAfterMs: context.ttl }, context.ttl / 1000),
  });
}

/** Installs what `options` asks for; must run before any route is registered (rate limits attach per route). */
/** The token each authenticated request presented (requests of every app; entries go with them). */
const identities = new WeakMap<FastifyRequest, TokenEntry>();

/** The principal of the request's bearer token; undefined in dev mode or before authentication. */
export function principalOf(request: FastifyRequest): string | undefined {
  return identities.get(request)?.principal;
}

export async function installSecurity(app: FastifyInstance, options: SecurityOptions | undefined): Promise<void> {
  if (options === undefined) return;
  if (options.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: options.corsOrigins.includes('*') ? '*' : [...options.corsOrigins],
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'last-event-id'],
      exposedHeaders: ['strata-basis', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
  }
  if (options.tokens.length === 0) return;
  installAuth(app, options.tokens, identities);
  await installRateLimit(app, options, identities);
}
