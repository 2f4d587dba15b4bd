// Records the duration of every HTTP exchange by route pattern, method and status.

import type { FastifyInstance } from 'fastify';
import type { StrataMetrics } from './metrics.js';

export function installHttpMetrics(app: FastifyInstance, metrics: StrataMetrics): void {
  // A callback hook, not an async one: it runs on every request, and a promise per request is overhead.
  app.addHook('onResponse', (request, reply, done) => {
    // An SSE stream's "duration" is its connection lifetime, which would drown the latency buckets.
    const contentType = reply.raw.getHeader('content-type');
    if (typeof contentType === 'string' && contentType.startsWith('text/event-stream')) return done();
    // The route pattern, never the raw URL: unmatched URLs share one label to bound cardinality, and the
    // router's escaped literal colon (`::`) is shown as the path clients use.
    const pattern = request.routeOptions.url;
    const route = pattern === undefined ? 'unmatched' : pattern.replaceAll('::', ':');
    const labels = { route, method: request.method, status: String(reply.statusCode) };
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    done();
  });
}
