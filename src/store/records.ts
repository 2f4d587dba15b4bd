// Value encodings of the state store (version 1): entity versions, edge/type lifetimes, meta and schema
// entries. Compact JSON: V8 parses it fast, and a version is rewritten only when its entity changes.

import type { AttrDefinition, Change, TypeDefinition, Value, ViewDefinition } from '../core/types.js';

/** An entity's full state after a tx: what a version holds and what the fold works on. */
export interface StoredEntity {
  id: string;
  kind: 'node' | 'edge';
  type: string;
  from?: string;
  to?: string;
  createdAt: number;
  terminatedAt: number | null;
  /** Values per attribute, sorted; a cardinality-one attribute holds exactly one; never an empty array. */
  attrs: Map<string, Value[]>;
}

export interface StoredVersion {
  entity: StoredEntity;
  /** Offset of the tx that wrote this version and its time. */
  offset: number;
  timeMs: number;
  /** The entity's own net changes in that tx (history is a scan of versions). */
  changes: Change[];
}

interface VersionJson {
  k: 'n' | 'e';
  y: string;
  f?: string;
  t?: string;
  c: number;
  x: number | null;
  a: [string, Value[]][];
  o: number;
  m: number;
  ch: Change[];
}

export function encodeVersion(v: StoredVersion): Buffer {
  const e = v.entity;
  const json: VersionJson = { k: e.kind === 'node' ? 'n' : 'e', y: e.type, c: e.createdAt, x: e.terminatedAt, a: [...e.attrs], o: v.offset, m: v.timeMs, ch: v.changes };
  if (e.kind === 'edge') {
    json.f = e.from;
    json.t = e.to;
  }
  return Buffer.from(JSON.stringify(json));
}

export function decodeVersion(id: string, buf: Buffer): StoredVersion {
  const j = JSON.parse(buf.toString('utf8')) as VersionJson;
  const entity: StoredEntity = { id, kind: j.k === 'n' ? 'node' : 'edge', type: j.y, createdAt: j.c, terminatedAt: j.x, attrs: new Map(j.a) };
  if (j.k === 'e') {
    entity.from = j.f;
    entity.to = j.t;
  }
  return { entity, offset: j.o, timeMs: j.m, changes: j.ch };
}

/** Lifetime of an entity in the type index, or of an edge in an adjacency index. */
export interface Lifetime {
  type: string;
  /** The other end for adjacency records. */
  peer?: string;
  createdAt: number;
  terminatedAt: number | null;
}

export function encodeLifetime(l: Lifetime): Buffer {
  return Buffer.from(JSON.stringify([l.type, l.peer ?? null, l.createdAt, l.terminatedAt]));
}

export function decodeLifetime(buf: Buffer): Lifetime {
  const [type, peer, createdAt, terminatedAt] = JSON.parse(buf.toString('utf8')) as [string, string | null, number, number | null];
  return { type, ...(peer === null ? {} : { peer }), createdAt, terminatedAt };
}

export function liveAt(l: { createdAt: number; terminatedAt: number | null }, basis: number): boolean {
  return l.createdAt <= basis && (l.terminatedAt === null || l.terminatedAt > basis);
}

export interface GraphMeta {
  /** Last folded offset (-1 before the first). */
  offset: number;
  /** Tx time of that offset (ms), 0 before the first. */
  timeMs: number;
  txs: number;
  committed: number;
  aborted: number;
  live: number;
  keyLayoutVersion: number;
}

export function encodeMeta(m: GraphMeta): Buffer {
  return Buffer.from(JSON.stringify(m));
}

export function decodeMeta(buf: Buffer): GraphMeta {
  return JSON.parse(buf.toString('utf8')) as GraphMeta;
}

export type SchemaEntry =
  | { offset: number; attr: string; definition: AttrDefinition }
  | { offset: number; type: string; definition: TypeDefinition }
  /** A view definition; null = retired at that offset. */
  | { offset: number; view: string; definition: ViewDefinition | null };

export function encodeSchemaEntry(e: SchemaEntry): Buffer {
  return Buffer.from(JSON.stringify(e));
}

export function decodeSchemaEntry(buf: Buffer): SchemaEntry {
  return JSON.parse(buf.toString('utf8')) as SchemaEntry;
}
