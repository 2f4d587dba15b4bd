// Checksum of a slice: SHA-256 over canonical JSON lines — the schema, then every live entity as
// `GET /entities/:id` renders it (without `basis`), in UTF-8 byte order of ids. Two replicas fed the
// same log must agree on it byte for byte at every offset (DESIGN §2, determinism); docs/api.md
// specifies the lines so that any client can recompute it from public reads.
//
// One streaming pass merges three key families that all sort by entity id first — entity versions
// ('e'), out-edges ('o') and in-edges ('i') — so memory stays bounded by one page per family, and the
// adjacency indexes that serve node reads are covered, not only the entity versions.

import { createHash } from 'node:crypto';
import { valueToJson } from '../codec/json.js';
import type { SliceChecksum } from '../core/strata-api.js';
import type { AttrDefinition, TypeDefinition, Value } from '../core/types.js';
import type { Schema } from '../materializer/state.js';
import * as K from '../store/keys.js';
import { decodeLifetime, decodeVersion, liveAt, type StoredEntity } from '../store/records.js';
import type { KeyValue, Store } from '../store/rocks.js';

/** Names the line format below; a change to it must change this name (clients compare checksums). */
export const CHECKSUM_ALGORITHM = 'sha256-slice-v1';

/** Entries per scan page: large enough to amortize the binding's worker hop, small enough to bound memory. */
const PAGE_ENTRIES = 1024;
const ZERO = Buffer.from([0]);

/** JSON with object keys sorted (UTF-16 code unit order) at every level; undefined members dropped. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A value's JSON text. `json` values are stored as canonical text already: used as is, never re-parsed
 * (re-rendering a deeply nested document recursively could exhaust the stack). */
function valueText(v: Value): string {
  return v.t === 'j' ? v.v : JSON.stringify(valueToJson(v));
}

function attrsText(attrs: Map<string, Value[]>, defs: Map<string, AttrDefinition>): string {
  const parts = [...attrs.keys()].sort().map((attr) => {
    const values = attrs.get(attr)!;
    const text = defs.get(attr)?.cardinality === 'many' ? `[${values.map(valueText).join(',')}]` : valueText(values[0]!);
    return `${JSON.stringify(attr)}:${text}`;
  });
  return `{${parts.join(',')}}`;
}

function schemaLine(schema: Schema): string {
  const attrs: Record<string, AttrDefinition> = {};
  for (const [name, d] of schema.attrs) attrs[name] = { valueType: d.valueType, cardinality: d.cardinality, unique: d.unique };
  const types: Record<string, TypeDefinition> = {};
  for (const [name, d] of schema.types) types[name] = { kind: d.kind, required: [...d.required].sort() };
  return canonicalJson({ attrs, types });
}

interface Adjacent {
  id: string;
  type: string;
  peer: string;
}

/** An object's canonical text from already-canonical member texts: keys sorted as canonicalJson sorts them. */
function objectText(members: Record<string, string>): string {
  return `{${Object.keys(members).sort().map((k) => `${JSON.stringify(k)}:${members[k]}`).join(',')}}`;
}

/** The canonical line of one entity: canonicalJson of its `GET /entities/:id` body without `basis`. */
function entityLine(e: StoredEntity, out: Adjacent[], inn: Adjacent[], schema: Schema): string {
  const members: Record<string, string> = {
    attrs: attrsText(e.attrs, schema.attrs),
    createdAt: JSON.stringify(e.createdAt),
    id: JSON.stringify(e.id),
    kind: JSON.stringify(e.kind),
    type: JSON.stringify(e.type),
  };
  // An edge never has adjacency entries; if the index holds some anyway, the line shows them.
  if (e.kind === 'node' || out.length + inn.length > 0) {
    members['out'] = canonicalJson(out.map((a) => ({ id: a.id, type: a.type, to: a.peer })));
    members['in'] = canonicalJson(inn.map((a) => ({ id: a.id, type: a.type, from: a.peer })));
  }
  if (e.kind === 'edge') {
    members['from'] = JSON.stringify(e.from ?? null);
    members['to'] = JSON.stringify(e.to ?? null);
  }
  return objectText(members);
}

/** The id component of a key of the families 'e', 'o', 'i': the bytes after the tag up to the first 0x00. */
function groupId(key: Buffer): Buffer {
  return key.subarray(1, key.indexOf(0, 1));
}

/** Walks one key family page by page, grouped by the leading id; awaits only to load the next page. */
class GroupCursor {
  private page: KeyValue[] = [];
  private pos = 0;
  private next: Buffer | null;
  private readonly end: Buffer;

  constructor(private readonly store: Store, tag: string, private readonly keysOnly: boolean) {
    this.next = Buffer.from(tag, 'latin1');
    this.end = K.prefixEnd(this.next);
  }

  private async load(): Promise<boolean> {
    if (this.next === null) return false;
    this.page = await this.store.range(this.next, this.end, { limit: PAGE_ENTRIES, keysOnly: this.keysOnly });
    this.pos = 0;
    const last = this.page[this.page.length - 1];
    this.next = this.page.length < PAGE_ENTRIES || last === undefined ? null : Buffer.concat([last.key, ZERO]);
    return this.page.length > 0;
  }

  async peek(): Promise<Buffer | null> {
    if (this.pos >= this.page.length && !(await this.load())) return null;
    return groupId(this.page[this.pos]!.key);
  }

  /** Consumes the entries of group `id` (if it is next), in key order. */
  async take(id: Buffer, visit: (kv: KeyValue) => void): Promise<void> {
    for (;;) {
      while (this.pos < this.page.length) {
        const kv = this.page[this.pos]!;
        if (!groupId(kv.key).equals(id)) return;
        visit(kv);
        this.pos++;
      }
      if (!(await this.load())) return;
    }
  }
}

/** The key of the newest version at or before the basis (versions sort newest first), or null. */
async function versionKeyAt(cursor: GroupCursor, id: Buffer, basis: number): Promise<Buffer | null> {
  let found: Buffer | null = null;
  await cursor.take(id, (kv) => {
    if (found === null && K.readDesc64(kv.key, kv.key.length - 8) <= basis) found = kv.key;
  });
  return found;
}

async function edgesAt(cursor: GroupCursor, id: Buffer, basis: number): Promise<Adjacent[]> {
  const out: Adjacent[] = [];
  const start = id.length + 2; // tag, id, 0x00
  await cursor.take(id, (kv) => {
    const life = decodeLifetime(kv.value);
    if (liveAt(life, basis)) out.push({ id: kv.key.toString('utf8', start, kv.key.length - 1), type: life.type, peer: life.peer ?? '' });
  });
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function smallest(ids: (Buffer | null)[]): Buffer | null {
  let min: Buffer | null = null;
  for (const id of ids) if (id !== null && (min === null || Buffer.compare(id, min) < 0)) min = id;
  return min;
}

/** One id of the merge: where its version is, and its live edges. */
interface Pending {
  id: Buffer;
  versionKey: Buffer | null;
  out: Adjacent[];
  inn: Adjacent[];
}

/** Ids per batched version read: one binding call fetches them all. */
const VERSION_READ_BATCH = 256;

/** Hashes the lines of a chunk of ids in order; versions come from one batched read. Returns live count. */
async function hashChunk(store: Store, chunk: Pending[], schema: Schema, basis: number, hash: ReturnType<typeof createHash>): Promise<number> {
  const withVersion = chunk.filter((p) => p.versionKey !== null);
  const values = await store.getMany(withVersion.map((p) => p.versionKey!));
  const stored = new Map<Pending, StoredEntity>();
  withVersion.forEach((p, i) => {
    const buf = values[i];
    if (buf) stored.set(p, decodeVersion(p.id.toString('utf8'), buf).entity);
  });
  let live = 0;
  for (const p of chunk) {
    const entity = stored.get(p);
    if (entity !== undefined && liveAt(entity, basis)) {
      hash.update(`${entityLine(entity, p.out, p.inn, schema)}\n`);
      live++;
    } else if (p.out.length + p.inn.length > 0) {
      // Live edges at an absent node: an index inconsistency, which must show in the checksum.
      hash.update(`${canonicalJson({ id: p.id.toString('utf8'), orphanEdges: { out: p.out.map((a) => a.id), in: p.inn.map((a) => a.id) } })}\n`);
    }
  }
  return live;
}

/**
 * The checksum of the slice as of `basis` (-1 = the empty slice), from the store's indexes.
 * `schema` must be the schema in force at the basis. Cost: one pass over the keys of every entity
 * version and edge lifetime ever written, plus one batched read per 256 ids; O(page) memory.
 */
export async function sliceChecksum(store: Store, schema: Schema, basis: number): Promise<SliceChecksum> {
  const hash = createHash('sha256');
  hash.update(`${schemaLine(schema)}\n`);
  let entities = 0;
  if (basis >= 0) {
    const versions = new GroupCursor(store, 'e', true);
    const outs = new GroupCursor(store, 'o', false);
    const ins = new GroupCursor(store, 'i', false);
    let chunk: Pending[] = [];
    for (;;) {
      const id = smallest([await versions.peek(), await outs.peek(), await ins.peek()]);
      if (id === null) break;
      const versionKey = await versionKeyAt(versions, id, basis);
      chunk.push({ id, versionKey, out: await edgesAt(outs, id, basis), inn: await edgesAt(ins, id, basis) });
      if (chunk.length >= VERSION_READ_BATCH) {
        entities += await hashChunk(store, chunk, schema, basis, hash);
        chunk = [];
      }
    }
    entities += await hashChunk(store, chunk, schema, basis, hash);
  }
  return { basis, algorithm: CHECKSUM_ALGORITHM, checksum: hash.digest('hex'), entities };
}
