// LiveRound (src/api/sse-round.ts) writes a round in slices, yielding to the event loop between them.
// Whatever happens between two slices (a stream flushed for its own writes, a stream leaving, the next
// reports arriving), every stream's bytes stay in log order with nothing lost or doubled. The sinks
// here record what would reach their sockets; the rounds, slices and flushes are the real ones.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveRound, type SseSink } from '../../src/api/sse-round.js';
import type { TxReport } from '../../src/core/types.js';

class RecordingSink {
  closed = false;
  congested = false;
  text = '';
  writes = 0;
  writeChunk(chunk: { payload: Buffer }): boolean {
    this.writes++;
    this.text += chunk.payload.toString();
    return true;
  }
  writeText(text: string): boolean {
    this.writes++;
    this.text += text;
    return true;
  }
}

const report = (offset: number): TxReport => ({ offset }) as TxReport;
const frame = (r: TxReport): string => `[${r.offset}]`;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const settled = async (): Promise<void> => {
  for (let i = 0; i < 50; i++) await nextTurn();
  await new Promise((resolve) => setTimeout(resolve, 50)); // a round spaced after the previous one
  for (let i = 0; i < 50; i++) await nextTurn();
};

test('a round written in slices keeps every stream in order through flushes, leaves and new reports', async () => {
  const round = new LiveRound(frame);
  const sinks = Array.from({ length: 400 }, () => new RecordingSink());
  const asSink = (s: RecordingSink) => s as unknown as SseSink;
  const announce = (offset: number): void => {
    const r = report(offset);
    for (const s of sinks) if (!s.closed) round.takeShared(asSink(s), r);
  };
  for (let offset = 0; offset < 3; offset++) announce(offset); // one round: three reports per stream

  // The round starts in this turn's check phase; after its first slice, the loop runs this.
  await nextTurn();
  const written = sinks.filter((s) => s.writes > 0).length;
  assert.ok(written > 0 && written < sinks.length, `the first slice wrote ${written} of ${sinks.length} streams`);

  const late = sinks[sinks.length - 1]!; // not written yet
  assert.equal(late.text, '');
  round.flush(asSink(late)); // as the stream does before writing anything of its own
  late.writeText('<own>');
  const leaving = sinks[sinks.length - 2]!;
  round.drop(asSink(leaving));
  leaving.closed = true;
  announce(3); // the next reports arrive while the round is still being written

  await settled();
  for (const s of sinks) {
    if (s === leaving) assert.equal(s.text, '', 'a stream that left before its turn gets nothing more');
    else if (s === late) assert.equal(s.text, '[0][1][2]<own>[3]');
    else assert.equal(s.text, '[0][1][2][3]');
  }
  // Streams written in the first slice got the next report in a later round: one write per round.
  assert.equal(sinks[0]!.writes, 2);
});

test('frames cached for one span are never served for another while the round still grows', async () => {
  const round = new LiveRound(frame);
  const [z, a, b] = [new RecordingSink(), new RecordingSink(), new RecordingSink()];
  const take = (offset: number, ...sinks: RecordingSink[]): void => {
    const r = report(offset); // one object per report, as the materializer announces it
    for (const s of sinks) round.takeShared(s as unknown as SseSink, r);
  };
  take(0, z);
  take(1, z, a, b);
  take(2, z, a); // b stops taking (as a congested stream does)
  round.flush(a as unknown as SseSink); // frames of a's span [1, 2] built while the round holds 3 reports
  take(3, z); // the round grows to 4 reports; b's span is [1, 1]
  await settled();
  assert.equal(a.text, '[1][2]');
  assert.equal(b.text, '[1]');
  assert.equal(z.text, '[0][1][2][3]');
});
