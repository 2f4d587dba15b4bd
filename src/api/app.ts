// Builds the HTTP API (fastify) on a StrataDb without listening: tests drive it with inject(), the CLI
// calls listen(). Each route family is its own plugin; errors, metrics and OpenAPI are installed here.

import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { DEFAULT_LIMITS, type Limits } from '../core/limits.js';
import type { StrataDb } from '../core/strata-api.js';
import type { ApiContext } from './context.js';
import { frameworkErrorHandler, installErrorHandling } from './errors.js';
import { installHttpMetrics } from './http-metrics.js';
import { createMetrics, type StrataMetrics } from './metrics.js';
import { RequestLogController } from './request-log.js';
import { SseClients } from './sse-clients.js';
import { installSecurity, type SecurityOptions } from './auth.js';
import { checksumRoutes } from './routes/checksum.js';
import { diffRoutes } from './routes/diff.js';
import { entityRoutes } from './routes/entities.js';
import { eventRoutes } from './routes/events.js';
import { graphRoutes } from './routes/graphs.js';
import { opsRoutes } from './routes/ops.js';
import { queryRoutes } from './routes/query.js';
import { transactionRoutes } from './routes/transactions.js';
import { txLogRoutes } from './routes/tx-log.js';
import { viewRoutes } from './routes/views.js';

export interface AppDeps {
  db: StrataDb;
  limits?: Limits;
  /** A pino logger to use, or true/false for fastify's default logger on/off (default off). */
  logger?: Logger | boolean;
  metrics?: StrataMetrics;
  /** 'operations': only /healthz, /readyz, /metrics and /docs (the materializer role); default 'all'. */
  routes?: 'all' | 'operations';
  /** Tokens, rate limits and CORS (api/auth.ts); absent or without tokens: dev mode, no access control. */
  security?: SecurityOptions;
}

/** Percent-encoding makes a path segment up to 12 chars per id char (4 UTF-8 bytes × "%XX"). */
const ENCODED_CHARS_PER_ID_CHAR = 12;

function serverOptions(deps: AppDeps, limits: Limits): FastifyServerOptions {
  const logging: FastifyServerOptions =
    typeof deps.logger === 'object' ? { loggerInstance: deps.logger } : { logger: deps.logger ?? false };
  return {
    ...logging,
    // Request lines at debug, not info (request-log.ts): a read must not cost two log writes.
    logController: new RequestLogController(),
    // Per-route limits (tx, batch) are set on the routes; this bounds every other body.
    bodyLimit: Math.max(limits.txBodyBytesMax, limits.batchBodyBytesMax),
    frameworkErrors: frameworkErrorHandler,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Unknown properties are rejected, not silently dropped: a misspelt parameter must be visible.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    routerOptions: { maxParamLength: limits.idCharsMax * ENCODED_CHARS_PER_ID_CHAR },
  };
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const limits = deps.limits ?? { ...DEFAULT_LIMITS };
  const metrics = deps.metrics ?? createMetrics();
  const app = Fastify(serverOptions(deps, limits)) as unknown as FastifyInstance;
  // Only JSON bodies exist in this API; without this, text/plain would be parsed and fail later as a
  // schema error instead of the 415 the client needs to see.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app);
  installHttpMetrics(app, metrics);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Strata', version: 'v1', description: 'Temporal graph event-stream platform: publish, read as of any offset, diff, subscribe.' },
    },
  });
  await installSecurity(app, deps.security);
  const ctx: ApiContext = { db: deps.db, limits, metrics, sseClients: new SseClients(limits.sseClientsMax, metrics) };
  app.addHook('preClose', async () => ctx.sseClients.closeAll());
  await app.register(opsRoutes, ctx);
  if (deps.routes === 'operations') return app;
  await app.register(graphRoutes, ctx);
  await app.register(transactionRoutes, ctx);
  await app.register(txLogRoutes, ctx);
  await app.register(entityRoutes, ctx);
  await app.register(diffRoutes, ctx);
  await app.register(eventRoutes, ctx);
  await app.register(queryRoutes, ctx);
  await app.register(checksumRoutes, ctx);
  await app.register(viewRoutes, ctx);
  return app;
}
