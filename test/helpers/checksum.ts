// Checksums for the determinism, rebuild and torture tests: the slice checksum recomputed from the naive
// reference fold (the line format of docs/api.md, "Checksum", written from the docs, not from
// src/query/checksum.ts), and a digest of every key and value of a RocksDB state directory.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Store } from '../../src/store/rocks.js';
import type { StrataDb } from '../../src/core/strata-api.js';
import type { Http } from './http.js';
import { compareScalars, type ReferenceModel } from '../reference/model.js';

/** JSON with sorted object keys at every level (the docs' "canonical JSON"). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Creation offsets by id, from the reference's per-tx net changes (ids are never reused). */
const createdAtCache = new WeakMap<ReferenceModel, { upTo: number; offsets: Map<string, number> }>();

function createdAtOf(model: ReferenceModel): Map<string, number> {
  const cached = createdAtCache.get(model) ?? { upTo: 0, offsets: new Map<string, number>() };
  for (; cached.upTo < model.txs.length; cached.upTo++) {
    const tx = model.txs[cached.upTo]!;
    for (const c of tx.changes) if (c.kind === 'created') cached.offsets.set(c.id, tx.offset);
  }
  createdAtCache.set(model, cached);
  return cached.offsets;
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The checksum the docs define, computed from the reference model's slice at `at`: each live entity
 * in its `GET /entities/:id` shape (adjacency derived from the slice's edges in one pass).
 */
export function modelChecksum(model: ReferenceModel, at: number): string {
  const hash = createHash('sha256');
  const slice = model.sliceAt(at);
  const attrs = Object.fromEntries([...slice.attrDefs].map(([k, d]) => [k, { valueType: d.valueType, cardinality: d.cardinality, unique: d.unique }]));
  const types = Object.fromEntries([...slice.typeDefs].map(([k, d]) => [k, { kind: d.kind, required: [...d.required].sort() }]));
  hash.update(`${canonical({ attrs, types })}\n`);
  const out = new Map<string, { id: string; type: string; to: string }[]>();
  const inn = new Map<string, { id: string; type: string; from: string }[]>();
  for (const e of slice.entities.values()) {
    if (e.kind !== 'edge') continue;
    out.set(e.from!, [...(out.get(e.from!) ?? []), { id: e.id, type: e.type, to: e.to! }]);
    inn.set(e.to!, [...(inn.get(e.to!) ?? []), { id: e.id, type: e.type, from: e.from! }]);
  }
  const createdAt = createdAtOf(model);
  const ids = [...slice.entities.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  for (const id of ids) {
    const e = slice.entities.get(id)!;
    const values: Record<string, unknown> = {};
    for (const [a, v] of e.attrs) values[a] = Array.isArray(v) ? [...v].sort(compareScalars) : v;
    const common = { id, kind: e.kind, type: e.type, createdAt: createdAt.get(id), attrs: values };
    const line = e.kind === 'edge' ? { ...common, from: e.from, to: e.to } : { ...common, out: [...(out.get(id) ?? [])].sort(byId), in: [...(inn.get(id) ?? [])].sort(byId) };
    hash.update(`${canonical(line)}\n`);
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

/** Keys only in A, only in B, or with different values (printable, first `max` of each), for failure messages. */
export async function storeDiff(pathA: string, pathB: string, max = 10): Promise<string[]> {
  const load = async (path: string) => {
    const store = await Store.open(path);
    try {
      const all = new Map<string, string>();
      for (const { key, value } of await store.range(Buffer.alloc(0), Buffer.alloc(64, 0xff))) all.set(key.toString('hex'), value.toString('hex'));
      return all;
    } finally {
      await store.close();
    }
  };
  const [a, b] = [await load(pathA), await load(pathB)];
  const show = (hex: string) => JSON.stringify(Buffer.from(hex, 'hex').toString('latin1'));
  const out: string[] = [];
  for (const [k, v] of a) if (!b.has(k)) out.push(`only in ${pathA}: ${show(k)} = ${show(v).slice(0, 300)}`);
  for (const [k, v] of b) if (!a.has(k)) out.push(`only in ${pathB}: ${show(k)} = ${show(v).slice(0, 300)}`);
  for (const [k, v] of a) if (b.has(k) && b.get(k) !== v) out.push(`differs: ${show(k)}: ${show(v).slice(0, 200)} vs ${show(b.get(k)!).slice(0, 200)}`);
  return out.slice(0, max * 3);
}

/** The checksum at every offset from -1 (the empty slice) through `latest`, in-process. */
export async function dbChecksums(db: StrataDb, graph: string, latest: number): Promise<string[]> {
  const out: string[] = [];
  for (let at = -1; at <= latest; at++) out.push((await db.checksum(graph, at)).checksum);
  return out;
}

/**
 * A replica restored from a backup at `backupOffset` resumed folding right after it (`folded`: the
 * offsets it folded, in order), folded nothing twice up to `latest`, and has the checksums `expected`
 * (dbChecksums of the original). Returns its checksums.
 */
export async function assertRestoredReplica(db: StrataDb, graph: string, folded: readonly number[], backupOffset: number, latest: number, expected: readonly string[]): Promise<string[]> {
  await db.resolveBasis(graph, { minBasis: latest });
  assert.equal(folded[0], backupOffset + 1, 'the restored replica resumed right after the backup offset');
  assert.equal(folded.length, latest - backupOffset, 'and folded nothing twice');
  const got = await dbChecksums(db, graph, latest);
  const diverged = got.findIndex((c, i) => c !== expected[i]);
  assert.equal(diverged, -1, `checksum at offset ${diverged - 1} differs after the restore`);
  return got;
}

/** The checksum at every offset from 0 through `latest`, as a server answers it over HTTP. */
export async function serverChecksums(http: Http, graph: string, latest: number): Promise<string[]> {
  const out: string[] = [];
  for (let at = 0; at <= latest; at++) {
    const res = await http('GET', `/v1/graphs/${graph}/checksum?at=${at}`);
    assert.equal(res.status, 200, res.text);
    out.push(String((res.body as { checksum: string }).checksum));
  }
  return out;
}

/** The first index where two lists differ, -1 when they are equal. */
export function firstDifference(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}
