// Live SSE fan-out in rounds (DESIGN §5). A materializer flush announces its reports to every live
// stream of the graph in one synchronous loop; writing each event to each socket as it comes costs one
// write per event per subscriber (and, corked, still one write syscall per subscriber per flush). A
// round instead collects what every stream took since the last round and writes it with ONE write per
// socket; every unfiltered stream that took the same reports is handed the same Buffer, serialized,
// UTF-8 encoded and framed as an HTTP chunk once per round, not once per subscriber.
//
// Rounds are spaced by their own cost: after a round that took d ms the next starts no sooner than
// d ms after it ended. Fan-out thus never takes more than about half of the event loop, whatever the
// number of subscribers: under load each round carries more events instead of the loop spending its
// time in write syscalls (the cost of a round is mostly one syscall per socket, not its size). With few
// subscribers a round costs microseconds and events leave in the tick after their flush, as before.
//
// A stream's events are in order on its socket because everything else it writes (catch-up, buffered
// events, the final `lagged`) first flushes what the round holds for it (`flush`).

import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TxReport } from '../core/types.js';

const CRLF = Buffer.from('\r\n', 'latin1');

/** Bytes for one stream: the payload, and the same as one HTTP/1.1 chunk (built on first use). */
export class Chunk {
  private framedBytes: Buffer | null = null;

  constructor(readonly payload: Buffer) {}

  get framed(): Buffer {
    this.framedBytes ??= Buffer.concat([Buffer.from(`${this.payload.length.toString(16)}\r\n`, 'latin1'), this.payload, CRLF]);
    return this.framedBytes;
  }
}

/**
 * The socket of one SSE response, made after the headers and a first comment were written. Events go
 * to the socket itself, framed as HTTP/1.1 chunks when the response is chunked, so that a shared
 * Buffer leaves in one write without ServerResponse framing it again for each subscriber (three
 * buffers and a deferred uncork per write). A response still queued behind a pipelined one has no
 * socket yet: it writes through ServerResponse, which buffers until its turn.
 */
export class SseSink {
  private readonly socket: Socket | null;
  private corked = false;

  constructor(readonly raw: ServerResponse) {
    this.socket = raw.socket;
  }

  get closed(): boolean {
    return this.raw.destroyed || this.raw.writableEnded;
  }

  /** The socket holds more than its high-water mark: take no live event until it drains. */
  get congested(): boolean {
    return this.socket !== null ? this.socket.writableNeedDrain : this.raw.writableNeedDrain;
  }

  /** False when the socket's buffer is past its high-water mark (the bytes are kept all the same). */
  writeChunk(chunk: Chunk): boolean {
    if (this.socket === null) return this.raw.write(chunk.payload);
    return this.socket.write(this.raw.chunkedEncoding ? chunk.framed : chunk.payload);
  }

  writeText(text: string): boolean {
    if (this.socket === null) return this.raw.write(text);
    if (!this.raw.chunkedEncoding) return this.socket.write(text);
    return this.socket.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
  }

  /**
   * Writes one event of the buffered path and, when the socket's buffer is full, waits for it to drain,
   * so memory stays bounded. Events written in the same tick (catch-up) leave in one syscall.
   */
  async write(text: string, signal: AbortSignal): Promise<void> {
    if (this.closed) return;
    if (!this.corked) {
      this.corked = true;
      this.target.cork();
      setImmediate(() => this.uncork());
    }
    if (!this.writeText(text)) {
      this.uncork();
      await once(this.target, 'drain', { signal });
    }
  }

  private get target(): Socket | ServerResponse {
    return this.socket ?? this.raw;
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.target.uncork();
  }
}

interface Span {
  /** Indexes into the round's reports, inclusive: a stream's share of a round is contiguous. */
  start: number;
  end: number;
}

/** The live streams of one graph: what each took since the last round, written out in one go. */
export class LiveRound {
  /** Reports taken since the last round, in offset order (the materializer's own objects). */
  private reports: TxReport[] = [];
  /** Unfiltered streams: their span of `reports`, rendered with the shared frames. */
  private readonly shared = new Map<SseSink, Span>();
  /** Filtered streams: their own frames. */
  private readonly own = new Map<SseSink, string[]>();
  /** The next round, when one is due: in this tick's check phase, or after a timeout. */
  private immediate: NodeJS.Immediate | null = null;
  private timeout: NodeJS.Timeout | null = null;
  /** Earliest start of the next round (performance.now()). */
  private notBefore = 0;
  private readonly runNow = (): void => this.run();

  /** `frameOf`: the unfiltered event of a report, the same string for every stream. */
  constructor(private readonly frameOf: (report: TxReport) => string) {}

  /** `sink` takes `report`, the one being announced now, as its unfiltered event. */
  takeShared(sink: SseSink, report: TxReport): void {
    const last = this.reports[this.reports.length - 1];
    if (last !== report) {
      // Reports arrive in offset order; anything else (a graph replaced under the same name) starts over.
      if (last !== undefined && last.offset >= report.offset) this.run();
      this.reports.push(report);
    }
    const i = this.reports.length - 1;
    const span = this.shared.get(sink);
    if (span === undefined) this.shared.set(sink, { start: i, end: i });
    else if (span.end === i - 1) span.end = i;
    else if (span.end !== i) {
      // Not contiguous (it would have flushed in between): write what it had, then start again.
      sink.writeChunk(this.chunk(span, null));
      span.start = span.end = i;
    }
    this.schedule();
  }

  /** `sink` takes one event of its own (a filtered stream's). */
  takeOwn(sink: SseSink, text: string): void {
    const texts = this.own.get(sink);
    if (texts === undefined) this.own.set(sink, [text]);
    else texts.push(text);
    this.schedule();
  }

  /** Writes what the round holds for `sink` now: before anything else is written to its socket. */
  flush(sink: SseSink): void {
    const span = this.shared.get(sink);
    if (span !== undefined) {
      this.shared.delete(sink);
      sink.writeChunk(this.chunk(span, null));
    }
    const texts = this.own.get(sink);
    if (texts !== undefined) {
      this.own.delete(sink);
      sink.writeText(texts.join(''));
    }
  }

  /** Forgets `sink` (its client left). */
  drop(sink: SseSink): void {
    this.shared.delete(sink);
    this.own.delete(sink);
  }

  private schedule(): void {
    if (this.immediate !== null || this.timeout !== null) return;
    const wait = this.notBefore - performance.now();
    if (wait < 1) this.immediate = setImmediate(this.runNow);
    else this.timeout = setTimeout(this.runNow, wait);
  }

  private run(): void {
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.timeout !== null) clearTimeout(this.timeout);
    this.immediate = null;
    this.timeout = null;
    if (this.shared.size === 0 && this.own.size === 0) {
      this.reports = [];
      return;
    }
    const started = performance.now();
    const chunks = new Map<number, Chunk>();
    for (const [sink, span] of this.shared) if (!sink.closed) sink.writeChunk(this.chunk(span, chunks));
    for (const [sink, texts] of this.own) if (!sink.closed) sink.writeText(texts.length === 1 ? texts[0] : texts.join(''));
    this.shared.clear();
    this.own.clear();
    this.reports = [];
    const ended = performance.now();
    this.notBefore = ended + (ended - started);
  }

  /** The frames of a span as one Buffer; streams with the same span share it (`cache`). */
  private chunk(span: Span, cache: Map<number, Chunk> | null): Chunk {
    const key = span.start * (this.reports.length + 1) + span.end;
    let chunk = cache?.get(key);
    if (chunk === undefined) {
      let text = '';
      for (let i = span.start; i <= span.end; i++) text += this.frameOf(this.reports[i]);
      chunk = new Chunk(Buffer.from(text));
      cache?.set(key, chunk);
    }
    return chunk;
  }
}

const rounds = new WeakMap<object, Map<string, LiveRound>>();

/** The round of `graph`'s live streams in the process that serves `owner` (the StrataDb). */
export function liveRound(owner: object, graph: string, frameOf: (report: TxReport) => string): LiveRound {
  let byGraph = rounds.get(owner);
  if (byGraph === undefined) rounds.set(owner, (byGraph = new Map()));
  let round = byGraph.get(graph);
  if (round === undefined) byGraph.set(graph, (round = new LiveRound(frameOf)));
  return round;
}
