// Operations routes: liveness, readiness, Prometheus metrics and the OpenAPI document.

import type { FastifyInstance } from 'fastify';
import '@fastify/swagger';
import type { ApiContext } from '../context.js';
import { errorBody } from '../errors.js';

const tags = ['operations'];

export async function opsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/healthz', { schema: { tags, summary: 'Liveness: the process serves HTTP' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags, summary: 'Readiness: every graph caught up with its log as of open' } }, async (_request, reply) => {
    if (ctx.db.isReady()) return { status: 'ready' };
    return reply.code(503).send(errorBody('not_ready', 'materializers are still catching up with the log'));
  });

  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics' } }, async (_request, reply) => {
    await refreshGraphGauges(ctx);
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });

  // The OpenAPI document is generated from the route schemas; it documents itself only implicitly.
  const docs = async () => app.swagger();
  app.get('/docs', { schema: { hide: true } }, docs);
  app.get('/docs/openapi.json', { schema: { hide: true } }, docs);
}

/** Lag and storage gauges are read from the db at scrape time rather than pushed on every fold. */
async function refreshGraphGauges(ctx: ApiContext): Promise<void> {
  const now = Date.now();
  for (const g of await ctx.db.listGraphs()) {
    const lag = Math.max(0, g.latestOffset - g.materializedOffset);
    ctx.metrics.lagOffsets.set({ graph: g.name }, lag);
    const since = g.materializedTime === null ? now : Date.parse(g.materializedTime);
    ctx.metrics.lagSeconds.set({ graph: g.name }, lag === 0 ? 0 : Math.max(0, (now - since) / 1000));
    ctx.metrics.rocksdbSizeBytes.set({ graph: g.name }, g.storageBytes);
  }
  for (const c of await ctx.db.compactionStats()) {
    ctx.metrics.rocksdbCompactionsRunning.set({ graph: c.graph }, c.running);
    ctx.metrics.rocksdbCompactionPendingBytes.set({ graph: c.graph }, c.pendingBytes);
  }
  for (const c of ctx.db.cacheStats()) {
    const labels = { graph: c.graph, cache: c.cache };
    ctx.metrics.cacheBytes.set(labels, c.bytes);
    ctx.metrics.cacheEntries.set(labels, c.entries);
    ctx.metrics.cacheBytesMax.set(labels, c.bytesMax);
  }
}
