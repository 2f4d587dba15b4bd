// The SSE clients of one app, whatever they stream (tx reports or view deltas): one count against
// limits.sseClientsMax, one place that hijacks the reply and cleans up, and the shared resume rules.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { StrataError } from '../core/errors.js';
import type { StrataMetrics } from './metrics.js';

export class SseClients {
  private readonly streams = new Set<AbortController>();

  constructor(private readonly max: number, private readonly metrics: StrataMetrics) {}

  /** Throws too_many_subscribers when the process already serves the maximum number of streams. */
  checkRoom(): void {
    if (this.streams.size >= this.max) throw new StrataError('too_many_subscribers', undefined, { max: this.max });
  }

  /** Hijacks the reply and runs the stream until it ends or the client leaves. */
  async serve(reply: FastifyReply, run: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    this.streams.add(controller);
    this.metrics.sseClients.inc();
    reply.hijack();
    reply.raw.on('close', abort);
    try {
      await run(controller.signal);
    } finally {
      reply.raw.off('close', abort);
      this.streams.delete(controller);
      this.metrics.sseClients.dec();
    }
  }

  /** Open streams would keep app.close() waiting forever: end them first. */
  closeAll(): void {
    for (const controller of this.streams) controller.abort();
  }
}

/** `Last-Event-ID: N` resumes after N and wins over `from=`; undefined = no position given. */
export function resumeOffset(request: FastifyRequest<{ Querystring: { from?: number } }>): number | undefined {
  const header = request.headers['last-event-id'];
  if (header === undefined) return request.query.from;
  const text = (Array.isArray(header) ? (header[0] ?? '') : header).trim();
  if (!/^\d{1,15}$/.test(text)) throw new StrataError('invalid_offset', 'Last-Event-ID must be an offset', { header: 'Last-Event-ID', value: text });
  return Number(text) + 1;
}
