// Checksums for the determinism, rebuild and torture tests: the slice checksum recomputed from the naive
// reference fold (the line format of docs/api.md, "Checksum", written from the docs, not from
// src/query/checksum.ts), and a digest of every key and value of a RocksDB state directory.

import { createHash } from 'node:crypto';
import { Store } from '../../src/store/rocks.js';
import type { ReferenceModel } from '../reference/model.js';

/** JSON with sorted object keys at every level (the docs' "canonical JSON"). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The checksum the docs define, computed from the reference model's slice and entity reads at `at`. */
export function modelChecksum(model: ReferenceModel, at: number): string {
  const hash = createHash('sha256');
  const slice = model.sliceAt(at);
  const attrs = Object.fromEntries([...slice.attrDefs].map(([k, d]) => [k, { valueType: d.valueType, cardinality: d.cardinality, unique: d.unique }]));
  const types = Object.fromEntries([...slice.typeDefs].map(([k, d]) => [k, { kind: d.kind, required: [...d.required].sort() }]));
  hash.update(`${canonical({ attrs, types })}\n`);
  const ids = model.liveIds(at).sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  for (const id of ids) {
    const e = model.entity(id, at);
    if (e === null) continue;
    if (e.kind === 'node') {
      const byId = <T extends { id: string }>(xs: T[]) => [...xs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      hash.update(`${canonical({ ...e, out: byId(e.out), in: byId(e.in) })}\n`);
    } else {
      hash.update(`${canonical(e)}\n`);
    }
  }
  return hash.digest('hex');
}

/** SHA-256 over every key and value of a closed RocksDB state directory, in key order. */
export async function storeDigest(path: string): Promise<{ digest: string; entries: number }> {
  const store = await Store.open(path);
  const hash = createHash('sha256');
  let entries = 0;
  try {
    let from = Buffer.alloc(0);
    const end = Buffer.alloc(64, 0xff);
    for (;;) {
      const page = await store.range(from, end, { limit: 4096 });
      for (const { key, value } of page) {
        hash.update(`${key.length}:`).update(key).update(`${value.length}:`).update(value);
        entries++;
      }
      if (page.length < 4096) break;
      from = Buffer.concat([page[page.length - 1]!.key, Buffer.from([0])]);
    }
  } finally {
    await store.close();
  }
  return { digest: hash.digest('hex'), entries };
}
