// Writes one Server-Sent Events stream of a view's deltas to a hijacked socket (`event: delta`, `id:` the
// offset), with the framing, heartbeats, backpressure and final `lagged` event of the tx stream (§5).

import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { LaggedError, type StrataDb } from '../core/strata-api.js';
import { toHttpFailure } from './errors.js';
import { frame, openStream, write } from './sse-stream.js';

export interface ViewSseOptions {
  db: StrataDb;
  graph: string;
  view: string;
  /** First offset to deliver; undefined = only deltas maintained after subscribing. */
  from: number | undefined;
  heartbeatMs: number;
  bufferMax: number;
  signal: AbortSignal;
  log: FastifyBaseLogger;
}

export async function runViewSseStream(raw: ServerResponse, o: ViewSseOptions): Promise<void> {
  const stopHeartbeat = openStream(raw, o.heartbeatMs);
  // Aborted when the client leaves or when its live buffer overflows while we wait for the socket.
  const congested = new AbortController();
  const onLeave = (): void => congested.abort();
  o.signal.addEventListener('abort', onLeave);
  let next = o.from;
  try {
    const deltas = o.db.subscribeView(o.graph, o.view, o.from, { signal: o.signal, bufferMax: o.bufferMax, onOverflow: onLeave });
    for await (const d of deltas) {
      next = d.offset + 1;
      await write(raw, frame('delta', { offset: d.offset, added: d.added, removed: d.removed }, d.offset), congested.signal);
      if (o.signal.aborted) break;
    }
  } catch (err) {
    const failure = congested.signal.aborted && !o.signal.aborted && next !== undefined ? new LaggedError(next) : err;
    if (!o.signal.aborted) endWithError(raw, failure, o);
  } finally {
    o.signal.removeEventListener('abort', onLeave);
    stopHeartbeat();
    if (!raw.writableEnded) raw.end();
  }
}

function endWithError(raw: ServerResponse, err: unknown, o: ViewSseOptions): void {
  if (err instanceof LaggedError) {
    o.log.info({ graph: o.graph, view: o.view, resumeFrom: err.resumeFrom }, 'view SSE client lagged; closing its stream');
    raw.write(frame('lagged', { resumeFrom: err.resumeFrom }));
    return;
  }
  const failure = toHttpFailure(err);
  if (failure.internal) o.log.error({ err }, 'view SSE stream failed');
  raw.write(frame('error', failure.body));
}
