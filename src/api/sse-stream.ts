// Writes one Server-Sent Events stream of tx reports to a hijacked socket: framing, heartbeats,
// backpressure (wait for 'drain' instead of buffering) and the final `lagged` event of a slow client.

import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { reportToJson } from '../codec/json.js';
import { LaggedError, type StrataDb } from '../core/strata-api.js';
import type { TxReport } from '../core/types.js';
import { toHttpFailure } from './errors.js';
import type { ChangeFilter } from './sse-filter.js';
import { liveRound, SseSink } from './sse-round.js';

export interface SseStreamOptions {
  db: StrataDb;
  graph: string;
  /** First offset to deliver; undefined = only txs materialized after subscribing. */
  from: number | undefined;
  filter: ChangeFilter;
  heartbeatMs: number;
  bufferMax: number;
  signal: AbortSignal;
  log: FastifyBaseLogger;
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Reverse proxies (nginx) would otherwise buffer the stream and delay every event.
  'x-accel-buffering': 'no',
} as const;

export function frame(event: string, data: unknown, id?: number): string {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  return `${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Writes and, when the socket's buffer is full, waits for it to drain: memory stays bounded. */
export async function write(raw: ServerResponse, text: string, signal: AbortSignal): Promise<void> {
  if (raw.destroyed || raw.writableEnded) return;
  if (!corkedWrite(raw, text)) {
    raw.uncork();
    await once(raw, 'drain', { signal });
  }
}

/** The event payload of DESIGN §5: the report without its ops, with the changes the filter kept. */
async function eventData(report: TxReport, filter: ChangeFilter): Promise<Record<string, unknown> | null> {
  let changes = report.changes;
  if (filter.active) {
    changes = await filter.select(report);
    // A filtered stream only carries reports that touch what it asked for (aborted ones touch nothing).
    if (changes.length === 0) return null;
  }
  const json = reportToJson({ ...report, changes });
  const { ops: _ops, ...data } = json;
  return data;
}

/**
 * Live reports are one shared object per tx, so an unfiltered event is serialized once however many
 * subscribers receive it (fan-out to 1,000 clients would otherwise stringify each report 1,000 times).
 */
const unfilteredFrames = new WeakMap<TxReport, string>();

function unfilteredText(report: TxReport): string {
  let text = unfilteredFrames.get(report);
  if (text === undefined) {
    const { ops: _ops, ...data } = reportToJson(report);
    text = frame('tx', data, report.offset);
    unfilteredFrames.set(report, text);
  }
  return text;
}

async function eventText(report: TxReport, filter: ChangeFilter): Promise<string | null> {
  if (!filter.active) return unfilteredText(report);
  const data = await eventData(report, filter);
  return data === null ? null : frame('tx', data, report.offset);
}

/** A filtered event without awaiting: null = nothing matched, undefined = needs a type lookup. */
function filteredTextSync(report: TxReport, filter: ChangeFilter): string | null | undefined {
  const changes = filter.selectSync(report);
  if (changes === undefined) return undefined;
  if (changes.length === 0) return null;
  const { ops: _ops, ...data } = reportToJson({ ...report, changes });
  return frame('tx', data, report.offset);
}

function corkedWrite(raw: ServerResponse, text: string): boolean {
  // Events written in the same turn of the event loop leave in one syscall: with many subscribers a
  // write per event per socket is what would saturate the CPU.
  if (raw.writableCorked === 0) {
    raw.cork();
    setImmediate(() => raw.uncork());
  }
  return raw.write(text);
}

/** Sends the headers and a first comment and starts heartbeats; returns what stops them. */
export function openStream(raw: ServerResponse, heartbeatMs: number): () => void {
  raw.writeHead(200, SSE_HEADERS);
  raw.write(': connected\n\n');
  // Heartbeats keep idle proxies from closing the connection; skipped while the socket is congested.
  const heartbeat = setInterval(() => {
    if (!raw.writableNeedDrain && !raw.writableEnded) raw.write(': hb\n\n');
  }, heartbeatMs);
  return () => clearInterval(heartbeat);
}

export async function runSseStream(raw: ServerResponse, o: SseStreamOptions): Promise<void> {
  const stopHeartbeat = openStream(raw, o.heartbeatMs);
  const sink = new SseSink(raw);
  const round = liveRound(o.db, o.graph, unfilteredText);
  // Aborted when the client leaves or when its live buffer overflows while we wait for the socket.
  const congested = new AbortController();
  const onLeave = (): void => congested.abort();
  o.signal.addEventListener('abort', onLeave);
  let next = o.from;
  try {
    // Live events on an uncongested socket are taken straight from the report event and written by the
    // graph's next round (sse-round.ts): one write per socket per round, one shared Buffer when unfiltered.
    const deliver = (report: TxReport): boolean => {
      if (sink.congested || sink.closed) return false;
      if (!o.filter.active) {
        round.takeShared(sink, report);
        next = report.offset + 1;
        return true;
      }
      const text = filteredTextSync(report, o.filter);
      if (text === undefined) return false; // a type lookup is needed: take the buffered path
      next = report.offset + 1;
      if (text !== null) round.takeOwn(sink, text);
      return true;
    };
    const reports = o.db.subscribe(o.graph, o.from, { signal: o.signal, bufferMax: o.bufferMax, onOverflow: onLeave, deliver, ids: o.filter.ids });
    for await (const report of reports) {
      const text = await eventText(report, o.filter);
      next = report.offset + 1; // written to the socket's buffer below, ahead of any final event
      if (text !== null) {
        round.flush(sink); // what the round holds for this stream comes first
        await sink.write(text, congested.signal);
      }
      if (o.signal.aborted) break;
    }
  } catch (err) {
    const lagged = congested.signal.aborted && !o.signal.aborted && next !== undefined ? new LaggedError(next) : err;
    if (!o.signal.aborted) round.flush(sink); // `next` counts the events the round holds: they go out first
    await endWithError(raw, lagged, o);
  } finally {
    round.drop(sink);
    o.signal.removeEventListener('abort', onLeave);
    stopHeartbeat();
    if (!raw.writableEnded) raw.end();
  }
}

async function endWithError(raw: ServerResponse, err: unknown, o: SseStreamOptions): Promise<void> {
  if (o.signal.aborted) return; // the client left (or the server closes): nothing to tell anyone
  if (err instanceof LaggedError) {
    o.log.info({ graph: o.graph, resumeFrom: err.resumeFrom }, 'SSE client lagged; closing its stream');
    raw.write(frame('lagged', { resumeFrom: err.resumeFrom }));
    return;
  }
  const failure = toHttpFailure(err);
  if (failure.internal) o.log.error({ err }, 'SSE stream failed');
  raw.write(frame('error', failure.body));
}
