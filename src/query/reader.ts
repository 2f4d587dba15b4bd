// Reads of one graph's slices from RocksDB: entity as of an offset (one seek + adjacency scans),
// listings by type or value, history, diffs over a span of the tx index, and the log view.

import { decodeTxReport } from '../codec/avro.js';
import { valueToJson } from '../codec/json.js';
import { DEFAULT_LIMITS } from '../core/limits.js';
import type { EntityView, HistoryEntry, NodeView } from '../core/strata-api.js';
import type { AttrDefinition, TxReport, Value } from '../core/types.js';
import * as K from '../store/keys.js';
import { decodeLifetime, decodeVersion, liveAt, type StoredEntity, type StoredVersion } from '../store/records.js';
import { EntityReadCache, type CachedEntity, type EdgeLifetime } from './read-cache.js';
import { VersionCache } from './version-cache.js';
import type { Store } from '../store/rocks.js';
import type { Schema } from '../materializer/state.js';
import { idAtKeyEnd } from '../materializer/prefetch.js';

export type SchemaAt = (basis: number) => Schema;

export interface EntityIdentity {
  kind: 'node' | 'edge';
  type: string;
}

/** The greatest offset in ascending `offsets` that is ≤ basis, or null. */
function latestAtOrBefore(offsets: number[], basis: number): number | null {
  let lo = 0;
  let hi = offsets.length - 1;
  let found: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid] <= basis) {
      found = offsets[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Renders stored values with the cardinality in force at the basis. */
export function renderAttrs(attrs: Map<string, Value[]>, defs: Map<string, AttrDefinition>): Record<string, unknown> {
  // A plain object keeps V8's fast properties (a null-prototype one is a slow dictionary); the one name
  // that would reach the prototype is defined as an own property instead.
  const out: Record<string, unknown> = {};
  const names = [...attrs.keys()];
  if (!isSorted(names)) names.sort();
  for (const attr of names) {
    const values = attrs.get(attr)!;
    const value = defs.get(attr)?.cardinality === 'many' ? values.map(valueToJson) : valueToJson(values[0]);
    if (attr === '__proto__') Object.defineProperty(out, attr, { value, enumerable: true, writable: true, configurable: true });
    else out[attr] = value;
  }
  return out;
}

function isSorted(names: string[]): boolean {
  for (let i = 1; i < names.length; i++) if (names[i - 1] > names[i]) return false;
  return true;
}

/** The share of the read budget that holds past versions (version-cache.ts); the rest is the read cache's. */
const PAST_VERSIONS_SHARE = 1 / 8;

export class GraphReader {
  readonly cache: EntityReadCache;
  /** Versions older than an entity's latest, as read for past offsets. */
  readonly pastVersions: VersionCache;

  /** `cacheBytesMax`: the read caches' budget (docs/limits.md, `readCacheBytesMax`). */
  constructor(readonly store: Store, private readonly schemaAt: SchemaAt, cacheBytesMax: number = DEFAULT_LIMITS.readCacheBytesMax) {
    const past = Math.floor(cacheBytesMax * PAST_VERSIONS_SHARE);
    this.cache = new EntityReadCache(store, cacheBytesMax - past);
    this.pastVersions = new VersionCache(past);
  }

  /** The attributes of an entity as of `basis` when the read cache alone can answer, else undefined. */
  attrsCached(id: string, basis: number): Readonly<Record<string, unknown>> | null | undefined {
    const entry = this.cachedLive(id, basis);
    if (!entry) return entry;
    // Rendered once per latest version and schema object (the schema at the head stays one object
    // until the next tx), then shared: hot reads of the latest slice allocate nothing.
    const defs = this.schemaAt(basis).attrs;
    if (entry.rendered?.defs === defs) return entry.rendered.attrs;
    const attrs = Object.freeze(renderAttrs(entry.latest!.entity.attrs, defs));
    entry.rendered = { defs, attrs };
    return attrs;
  }

  /** The cache entry whose latest version is the entity's version at `basis`, live there; null = absent. */
  private cachedLive(id: string, basis: number): CachedEntity | null | undefined {
    if (basis < 0) return null;
    const entry = this.cache.peek(id);
    if (entry === undefined) return undefined;
    const offset = latestAtOrBefore(entry.versions, basis);
    if (offset === null) return null;
    if (entry.latest === null || entry.latest.offset !== offset) return undefined;
    const e = entry.latest.entity;
    return e.terminatedAt !== null && e.terminatedAt <= basis ? null : entry;
  }

  /**
   * Kind and type of each id (both fixed at creation), from the read cache or else one batched read of
   * the latest versions; null for an id never created. Diffs need no more than this to order and filter.
   */
  async identities(ids: string[]): Promise<Map<string, EntityIdentity | null>> {
    const out = new Map<string, EntityIdentity | null>();
    const missing: string[] = [];
    for (const id of ids) {
      const latest = this.cache.peek(id)?.latest;
      if (latest) out.set(id, { kind: latest.entity.kind, type: latest.entity.type });
      else missing.push(id);
    }
    const found = await this.store.getMany(missing.map(K.currentKey));
    missing.forEach((id, i) => {
      const buf = found[i];
      const e = buf ? decodeVersion(id, buf).entity : null;
      out.set(id, e && { kind: e.kind, type: e.type });
    });
    return out;
  }

  /** The stored state of an entity as of `basis` (terminated ones included), or null if not yet created. */
  async storedAt(id: string, basis: number): Promise<StoredEntity | null> {
    return (await this.versionAt(id, basis))?.entity ?? null;
  }

  private async versionAt(id: string, basis: number): Promise<StoredVersion | null> {
    if (basis < 0) return null;
    return this.versionIn(await this.cache.get(id), id, basis);
  }

  private async versionIn(entry: CachedEntity, id: string, basis: number): Promise<StoredVersion | null> {
    const offset = latestAtOrBefore(entry.versions, basis);
    if (offset === null) return null;
    if (entry.latest && entry.latest.offset === offset) return entry.latest;
    const past = this.pastVersions.get(id, offset);
    if (past !== undefined) return past;
    const buf = await this.store.get(K.entityVersionKey(id, offset));
    if (!buf) return null;
    const version = decodeVersion(id, buf);
    this.pastVersions.set(id, offset, version);
    return version;
  }

  async entity(id: string, basis: number): Promise<EntityView | null> {
    const cached = this.entityCached(id, basis);
    if (cached !== undefined) return cached;
    if (basis < 0) return null;
    // A cache miss: the version offsets, the latest version and both edge lists are read side by side
    // (one round of worker hops); a past version not cached costs one get more.
    const entry = await this.cache.get(id, true);
    const [version] = await Promise.all([this.versionIn(entry, id, basis), this.cache.adjacency(id, entry, 'out'), this.cache.adjacency(id, entry, 'in')]);
    const e = version?.entity;
    if (!e || (e.terminatedAt !== null && e.terminatedAt <= basis)) return null;
    return this.render(e, basis);
  }

  /**
   * The entity as of `basis` when the caches alone can answer (its version at the basis is the cached
   * latest one or a cached past version, and a node's edge lifetimes are cached), else undefined.
   * Synchronous: most reads, at latest and at past offsets, end here without a promise chain or a
   * worker hop.
   */
  entityCached(id: string, basis: number): EntityView | null | undefined {
    if (basis < 0) return null;
    const entry = this.cache.peek(id);
    if (entry === undefined) return undefined;
    const offset = latestAtOrBefore(entry.versions, basis);
    if (offset === null) return null;
    const version = entry.latest !== null && entry.latest.offset === offset ? entry.latest : this.pastVersions.get(id, offset);
    if (version === undefined) return undefined;
    const e = version.entity;
    if (e.terminatedAt !== null && e.terminatedAt <= basis) return null;
    const attrs = renderAttrs(e.attrs, this.schemaAt(basis).attrs);
    if (e.kind === 'edge') return { id: e.id, kind: 'edge', type: e.type, createdAt: e.createdAt, from: e.from!, to: e.to!, attrs };
    if (entry.out === null || entry.in === null) return undefined;
    const out: NodeView['out'] = [];
    for (const l of entry.out) if (liveAt(l, basis)) out.push({ id: l.id, type: l.type, to: l.peer });
    const inn: NodeView['in'] = [];
    for (const l of entry.in) if (liveAt(l, basis)) inn.push({ id: l.id, type: l.type, from: l.peer });
    return { id: e.id, kind: 'node', type: e.type, createdAt: e.createdAt, attrs, out, in: inn };
  }

  async render(e: StoredEntity, basis: number): Promise<EntityView> {
    const attrs = renderAttrs(e.attrs, this.schemaAt(basis).attrs);
    if (e.kind === 'edge') return { id: e.id, kind: 'edge', type: e.type, createdAt: e.createdAt, from: e.from!, to: e.to!, attrs };
    const [out, inn] = await Promise.all([this.adjacencyAt(e.id, 'out', basis), this.adjacencyAt(e.id, 'in', basis)]);
    const view: NodeView = {
      id: e.id, kind: 'node', type: e.type, createdAt: e.createdAt, attrs,
      out: out.map((a) => ({ id: a.id, type: a.type, to: a.peer })),
      in: inn.map((a) => ({ id: a.id, type: a.type, from: a.peer })),
    };
    return view;
  }

  /** Edges of a node live at `basis`, in edge id order; `peer` is the other end. */
  async adjacencyAt(id: string, direction: 'out' | 'in', basis: number): Promise<EdgeLifetime[]> {
    const entry = await this.cache.get(id);
    return (await this.cache.adjacency(id, entry, direction)).filter((l) => liveAt(l, basis));
  }

  /** Entities with `attr` = value as of basis, sorted by id. */
  async idsWithValue(attr: string, value: Value, basis: number): Promise<string[]> {
    const prefix = K.attrValuePrefix(attr, value);
    const decided = new Set<string>();
    const ids: string[] = [];
    for (const { key, value: flag } of await this.store.scanPrefix(prefix)) {
      const { id, offset } = idAtKeyEnd(key, prefix.length);
      if (offset > basis || decided.has(id)) continue; // newest entry at or before the basis decides
      decided.add(id);
      if (flag[0] === 1) ids.push(id);
    }
    return ids;
  }

  /** Ids live at basis in the type index after `after` (exclusive), up to `limit`; `type` null = all types. */
  async idsByType(type: string | null, after: string | undefined, limit: number, basis: number): Promise<{ ids: string[]; keys: string[] }> {
    const prefix = type === null ? K.TYPE_FAMILY : K.typePrefix(type);
    let from = after === undefined ? prefix : Buffer.concat([prefix, Buffer.from(after, 'utf8'), Buffer.from([0, 0])]);
    const ids: string[] = [];
    const keys: string[] = [];
    for (;;) {
      const page = await this.store.range(from, K.prefixEnd(prefix), { limit: 1024 });
      for (const { key, value } of page) {
        if (!liveAt(decodeLifetime(value), basis)) continue;
        const rest = key.toString('utf8', prefix.length, key.length - 1);
        ids.push(type === null ? rest.slice(rest.indexOf('\u0000') + 1) : rest);
        keys.push(rest);
        if (ids.length >= limit) return { ids, keys };
      }
      if (page.length < 1024) return { ids, keys };
      from = Buffer.concat([page[page.length - 1].key, Buffer.from([0])]);
    }
  }

  async history(id: string, basis: number, max: number): Promise<HistoryEntry[] | null> {
    const versions = await this.store.scanPrefix(K.entityPrefix(id), { reverse: true });
    const entries: HistoryEntry[] = [];
    let created = false;
    for (const { value } of versions) {
      const v = decodeVersion(id, value);
      if (v.offset > basis) break;
      created = true;
      for (const change of v.changes) entries.push({ offset: v.offset, timeMs: v.timeMs, change });
      if (entries.length > max) throw new RangeError('history exceeds the response limit');
    }
    return created ? entries : null;
  }

  /** Reports with offsets in [from, to], ascending. */
  async reports(from: number, to: number, limit = Infinity): Promise<TxReport[]> {
    if (to < from) return [];
    const kvs = await this.store.range(K.txKey(from), K.txKey(to + 1), { limit });
    return kvs.map((kv) => decodeTxReport(kv.value));
  }

  async report(offset: number): Promise<TxReport | null> {
    const buf = await this.store.get(K.txKey(offset));
    return buf ? decodeTxReport(buf) : null;
  }

  /** The latest offset whose tx time is at or before `timeMs`, or -1. */
  async offsetAtTime(timeMs: number): Promise<number> {
    const found = await this.store.range(Buffer.from('w'), K.timeKey(timeMs + 1, 0), { reverse: true, limit: 1 });
    return found.length === 0 ? -1 : Number(found[0].key.readBigUInt64BE(9));
  }
}
