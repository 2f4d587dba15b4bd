// Live SSE fan-out in rounds (DESIGN §5). A materializer flush announces its reports to every live
// stream of the graph in one synchronous loop; writing each event to each socket as it comes costs one
// write per event per subscriber (and, corked, still one write syscall per subscriber per flush). A
// round instead collects what every stream took since the last round and writes it with ONE write per
// socket; every unfiltered stream that took the same reports is handed the same Buffer, serialized,
// UTF-8 encoded and framed as an HTTP chunk once per round, not once per subscriber.
//
// A round is written in slices of about 2 ms, yielding to the event loop in between, so a publish, the
// fold or a read waits for one slice, not for a whole round of writes to a thousand sockets. Rounds are
// spaced by their own cost: after a round that spent d ms writing, the next starts no sooner than d ms
// after it ended. Fan-out thus never takes more than about half of the event loop, whatever the
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

/** What the streams took for one round: the reports, each stream's share, and frames built once. */
class Batch {
  /** Reports taken, in offset order (the materializer's own objects). */
  reports: TxReport[] = [];
  /** Unfiltered streams: their span of `reports`, rendered with the shared frames. */
  readonly shared = new Map<SseSink, Span>();
  /** Filtered streams: their own frames. */
  readonly own = new Map<SseSink, string[]>();
  /** Frames of spans, shared by the streams that took the same span; keyed `start,end`, which stays
   * valid as reports are appended (a number built from the current length would not). */
  readonly chunks = new Map<string, Chunk>();

  constructor(private readonly frameOf: (report: TxReport) => string) {}

  get empty(): boolean {
    return this.shared.size === 0 && this.own.size === 0;
  }

  /** Writes what the batch holds for `sink` and forgets it. */
  writeOut(sink: SseSink): void {
    const span = this.shared.get(sink);
    if (span !== undefined) {
      this.shared.delete(sink);
      if (!sink.closed) sink.writeChunk(this.chunk(span));
    }
    const texts = this.own.get(sink);
    if (texts !== undefined) {
      this.own.delete(sink);
      if (!sink.closed) sink.writeText(texts.length === 1 ? texts[0] : texts.join(''));
    }
  }

  /** The frames of a span as one Buffer; streams with the same span share it. */
  chunk(span: Span): Chunk {
    const key = `${span.start},${span.end}`;
    let chunk = this.chunks.get(key);
    if (chunk === undefined) {
      let text = '';
      for (let i = span.start; i <= span.end; i++) text += this.frameOf(this.reports[i]);
      chunk = new Chunk(Buffer.from(text));
      this.chunks.set(key, chunk);
    }
    return chunk;
  }
}

/** Write time of one slice of a round before the loop is given back to other work (ms)... */
const SLICE_MS = 2;
/** ...or streams written in one slice, whichever comes first (a multiple of 16). */
const SLICE_STREAMS = 128;

/** The live streams of one graph: what each took since the last round, written out in one go. */
export class LiveRound {
  /** What streams take now, for the next round. */
  private next: Batch;
  /** The round being written, slice by slice; its streams are visited in order, each once. */
  private writing: { batch: Batch; sinks: Iterator<SseSink>; spentMs: number } | null = null;
  /** The next round or slice, when one is due: in this tick's check phase, or after a timeout. */
  private immediate: NodeJS.Immediate | null = null;
  private timeout: NodeJS.Timeout | null = null;
  /** Earliest start of the next round (performance.now()). */
  private notBefore = 0;
  private readonly runNow = (): void => this.run();

  /** `frameOf`: the unfiltered event of a report, the same string for every stream. */
  constructor(private readonly frameOf: (report: TxReport) => string) {
    this.next = new Batch(frameOf);
  }

  /** `sink` takes `report`, the one being announced now, as its unfiltered event. */
  takeShared(sink: SseSink, report: TxReport): void {
    const { reports, shared } = this.next;
    const last = reports[reports.length - 1];
    if (last !== report) {
      // Reports arrive in offset order; anything else (a graph replaced under the same name) starts over.
      if (last !== undefined && last.offset >= report.offset) return this.restart(sink, report);
      reports.push(report);
    }
    const i = reports.length - 1;
    const span = shared.get(sink);
    if (span === undefined) shared.set(sink, { start: i, end: i });
    else if (span.end === i - 1) span.end = i;
    else if (span.end !== i) {
      // Not contiguous (it would have flushed in between): write what it had, then start again.
      this.writing?.batch.writeOut(sink);
      sink.writeChunk(this.next.chunk(span));
      span.start = span.end = i;
    }
    this.schedule();
  }

  /** `sink` takes one event of its own (a filtered stream's). */
  takeOwn(sink: SseSink, text: string): void {
    const texts = this.next.own.get(sink);
    if (texts === undefined) this.next.own.set(sink, [text]);
    else texts.push(text);
    this.schedule();
  }

  /** Writes what the rounds hold for `sink` now: before anything else is written to its socket. */
  flush(sink: SseSink): void {
    this.writing?.batch.writeOut(sink);
    this.next.writeOut(sink);
  }

  /** Forgets `sink` (its client left). */
  drop(sink: SseSink): void {
    for (const batch of [this.writing?.batch, this.next]) {
      batch?.shared.delete(sink);
      batch?.own.delete(sink);
    }
  }

  /** A report older than the round's last: write everything held, in order, then take it afresh. */
  private restart(sink: SseSink, report: TxReport): void {
    if (this.writing) for (const s of [...this.writing.batch.shared.keys(), ...this.writing.batch.own.keys()]) this.writing.batch.writeOut(s);
    this.writing = null;
    const held = this.next;
    this.next = new Batch(this.frameOf);
    for (const s of [...held.shared.keys(), ...held.own.keys()]) held.writeOut(s);
    this.takeShared(sink, report);
  }

  private schedule(): void {
    if (this.writing !== null || this.immediate !== null || this.timeout !== null) return;
    const wait = this.notBefore - performance.now();
    if (wait < 1) this.immediate = setImmediate(this.runNow);
    else this.timeout = setTimeout(this.runNow, wait);
  }

  /**
   * Starts a round, or goes on with the one being written. A round writes for about SLICE_MS, then
   * yields to the event loop (publishes, the fold, reads) and goes on in the next check phase; a
   * stream's events keep their order because flush() writes what a round still holds first.
   */
  private run(): void {
    this.immediate = null;
    if (this.timeout !== null) clearTimeout(this.timeout);
    this.timeout = null;
    if (this.writing === null) {
      if (this.next.empty) {
        this.next.reports = [];
        return;
      }
      const batch = this.next;
      this.next = new Batch(this.frameOf);
      this.writing = { batch, sinks: [...batch.shared.keys(), ...batch.own.keys()][Symbol.iterator](), spentMs: 0 };
    }
    const w = this.writing;
    const started = performance.now();
    let done = false;
    for (let n = 1; ; n++) {
      const step = w.sinks.next();
      if (step.done) {
        done = true;
        break;
      }
      w.batch.writeOut(step.value); // a stream flushed or dropped since has nothing left here
      if ((n & 15) === 0 && (n >= SLICE_STREAMS || performance.now() - started >= SLICE_MS)) break;
    }
    const ended = performance.now();
    w.spentMs += ended - started;
    if (!done) {
      this.immediate = setImmediate(this.runNow);
      return;
    }
    this.writing = null;
    // Rounds are spaced by their write time: fan-out takes about half of the loop at most.
    this.notBefore = ended + w.spentMs;
    if (!this.next.empty) this.schedule();
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
