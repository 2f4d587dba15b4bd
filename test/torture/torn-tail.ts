// Writes a torn tail onto an embedded log's active segment, as a crash between write and fsync leaves
// it: bytes of a record that was never acknowledged. The next `strata start` must drop them and log it.
// Record framing (src/broker-adapters/embedded.ts): length:uint32 crc:uint32 body[length].

import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rng } from '../reference/generator.js';

/** The warn line the embedded log writes when it drops a torn tail on open. */
export const TORN_TAIL_LINE = 'dropped an unacknowledged torn tail of the log';

export const TORN_TAIL_KINDS = ['partial-copy', 'truncated', 'garbled', 'garbage'] as const;
export type TornTailKind = (typeof TORN_TAIL_KINDS)[number];

async function activeSegment(graphDir: string): Promise<string> {
  const logs = (await readdir(graphDir)).filter((f) => f.endsWith('.log')).sort();
  const last = logs[logs.length - 1];
  if (last === undefined) throw new Error(`no segment in ${graphDir}`);
  return join(graphDir, last);
}

/** The last complete record of the segment (from its index), or null when the segment is empty. */
async function lastRecord(segment: string): Promise<Buffer | null> {
  const index = await open(segment.replace(/\.log$/, '.index'), 'r');
  const log = await open(segment, 'r');
  try {
    const entries = Math.floor((await index.stat()).size / 4);
    if (entries === 0) return null;
    const ends = Buffer.alloc(8);
    await index.read(ends, 0, entries >= 2 ? 8 : 4, (entries >= 2 ? entries - 2 : 0) * 4);
    const start = entries >= 2 ? ends.readUInt32BE(0) : 0;
    const end = entries >= 2 ? ends.readUInt32BE(4) : ends.readUInt32BE(0);
    const record = Buffer.alloc(end - start);
    await log.read(record, 0, record.length, start);
    return record;
  } finally {
    await index.close();
    await log.close();
  }
}

function tornBytes(kind: TornTailKind, rng: Rng, last: Buffer | null): Buffer {
  switch (kind) {
    case 'partial-copy': {
      // A prefix of a real record: the header promises more bytes than the file holds.
      const source = last ?? Buffer.alloc(64, 1);
      return source.subarray(0, 1 + rng.int(source.length - 1));
    }
    case 'truncated': {
      const torn = Buffer.alloc(8 + 40);
      torn.writeUInt32BE(400, 0);
      torn.writeUInt32BE(rng.int(2 ** 32), 4);
      return torn;
    }
    case 'garbled': {
      // A complete frame whose checksum does not match its body.
      const torn = Buffer.alloc(8 + 64, 0x5a);
      torn.writeUInt32BE(64, 0);
      torn.writeUInt32BE(0xdeadbeef, 4);
      torn.writeInt8(1, 8);
      return torn;
    }
    case 'garbage':
      return Buffer.from(Array.from({ length: 1 + rng.int(64) }, () => rng.int(256)));
  }
}

/** Appends a torn tail of `kind` to the active segment of the graph's log directory. */
export async function injectTornTail(graphDir: string, kind: TornTailKind, rng: Rng): Promise<number> {
  const segment = await activeSegment(graphDir);
  const bytes = tornBytes(kind, rng, await lastRecord(segment));
  const fh = await open(segment, 'a');
  try {
    await fh.write(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return bytes.length;
}
