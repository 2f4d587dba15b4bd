// A bounded cache of what reads need per entity, independent of the offset asked for: the offsets of
// all its versions, its latest version, and (for nodes) its edge lifetimes. Kept current from the
// materializer's durable flushes, so "entity as of T" costs at most one batched get on a hit.

import * as K from '../store/keys.js';
import { decodeLifetime, decodeVersion, type StoredVersion } from '../store/records.js';
import type { Store } from '../store/rocks.js';
import { renderedBytes, versionBytes } from '../store/sizes.js';

export interface EdgeLifetime {
  id: string;
  type: string;
  peer: string;
  createdAt: number;
  terminatedAt: number | null;
}

export interface CachedEntity {
  /** Offsets of every version, ascending. Empty = the id was never used. */
  versions: number[];
  latest: StoredVersion | null;
  out: EdgeLifetime[] | null;
  in: EdgeLifetime[] | null;
  /** Read since eviction last passed it: a second chance (CLOCK) instead of reordering on every hit. */
  referenced?: boolean;
  /** The latest version's attributes rendered once (frozen, shared), for the attribute definitions `defs`. */
  rendered?: { defs: object; attrs: Readonly<Record<string, unknown>> };
  /**
   * Approximate bytes (store/sizes.ts), kept by the cache: the entry as last accounted, its latest
   * version's share (rendered attributes included, whether rendered yet or not) and its edges' share.
   */
  bytes?: number;
  latestBytes?: number;
  edgeBytes?: number;
}

/** The entry object, its Map slot, key string header and versions array header. */
const ENTRY_BYTES = 160;
/** One offset in `versions`. */
const OFFSET_BYTES = 8;
/** An EdgeLifetime object and its three string headers (characters counted separately). */
const EDGE_BYTES = 120;
/** No single entry may take more than this share of the budget (a node with millions of edges). */
const ENTRY_SHARE_MAX = 8;

const edgeBytes = (l: EdgeLifetime): number => EDGE_BYTES + l.id.length + l.peer.length + l.type.length;
const listBytes = (edges: EdgeLifetime[] | null): number => {
  let bytes = 0;
  for (const l of edges ?? []) bytes += edgeBytes(l);
  return bytes;
};
const latestBytes = (v: StoredVersion | null): number => (v === null ? 0 : versionBytes(v) + renderedBytes(v.entity));

/** How many recent flushes remember the ids they touched (to keep racing loads from caching stale data). */
const FLUSH_MEMORY = 64;

export class EntityReadCache {
  private readonly entries = new Map<string, CachedEntity>();
  /** Sum of the cached entries' `bytes`. */
  private bytes = 0;
  private generation = 0;
  private readonly recent: { generation: number; ids: Set<string> }[] = [];

  /** `bytesMax` bounds memory: the approximate bytes of every cached entry (docs/limits.md, `readCacheBytesMax`). */
  constructor(private readonly store: Store, private readonly bytesMax: number) {}

  /**
   * (Re)inserts an entry as the youngest, accounting it afresh: entries are mutated in place, so the
   * amount to subtract is the one recorded when it was last accounted, never a re-weighing.
   */
  private insert(id: string, e: CachedEntity): void {
    const prior = this.entries.get(id);
    if (prior !== undefined) {
      this.bytes -= prior.bytes ?? 0;
      this.entries.delete(id);
    }
    e.bytes = ENTRY_BYTES + id.length + OFFSET_BYTES * e.versions.length + (e.latestBytes ?? 0) + (e.edgeBytes ?? 0);
    if (e.bytes > this.bytesMax / ENTRY_SHARE_MAX) return; // too big to keep: read from RocksDB each time
    this.entries.set(id, e);
    this.bytes += e.bytes;
    if (this.bytes > this.bytesMax) this.evict(id);
  }

  /**
   * Drops entries from the oldest end until the bytes fit; an entry read since it was last passed
   * moves to the young end once instead (CLOCK), so hits cost a flag write, not a Map reordering.
   */
  private evict(keep: string | null): void {
    let passes = 2 * this.entries.size + 1; // the second pass meets no second chances
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.bytesMax || passes-- <= 0) break;
      this.entries.delete(oldest);
      if (entry.referenced || oldest === keep) {
        entry.referenced = false;
        this.entries.set(oldest, entry);
      } else this.bytes -= entry.bytes ?? 0;
    }
  }

  /** Entries and accounted bytes, for metrics and tests. */
  stats(): { entries: number; bytes: number; bytesMax: number } {
    return { entries: this.entries.size, bytes: this.bytes, bytesMax: this.bytesMax };
  }

  private touchedSince(id: string, generation: number): boolean {
    if (this.recent.length > 0 && this.recent[0].generation > generation + 1) return true; // too old to tell
    return this.recent.some((f) => f.generation > generation && f.ids.has(id));
  }

  /** The cached entry, refreshed as most recently used, or undefined on a miss (nothing is loaded). */
  peek(id: string): CachedEntity | undefined {
    const hit = this.entries.get(id);
    if (hit) hit.referenced = true;
    return hit;
  }

  /**
   * The cached entry, or one read from RocksDB: its version offsets and latest version and, with
   * `edges`, both edge lists too. All of it is read side by side, so a cold entity read waits for
   * one round of worker hops, not one for the versions and another for the edges (an edge's two
   * scans find nothing, and its lists are cached empty).
   */
  async get(id: string, edges = false): Promise<CachedEntity> {
    const hit = this.peek(id);
    if (hit) return hit;
    const started = this.generation;
    const prefix = K.entityPrefix(id);
    const [keys, current, out, inn] = await Promise.all([
      this.store.scanPrefix(prefix, { keysOnly: true }),
      this.store.get(K.currentKey(id)),
      edges ? this.scanEdges(id, 'out') : null,
      edges ? this.scanEdges(id, 'in') : null,
    ]);
    const latest = current ? decodeVersion(id, current) : null;
    const entry: CachedEntity = {
      versions: keys.map((kv) => K.readDesc64(kv.key, prefix.length)).reverse(),
      latest,
      out,
      in: inn,
      latestBytes: latestBytes(latest),
      edgeBytes: listBytes(out) + listBytes(inn),
    };
    if (!this.touchedSince(id, started)) this.insert(id, entry);
    return entry;
  }

  async adjacency(id: string, entry: CachedEntity, direction: 'out' | 'in'): Promise<EdgeLifetime[]> {
    const cached = entry[direction];
    if (cached) return cached;
    const started = this.generation;
    const edges = await this.scanEdges(id, direction);
    if (!this.touchedSince(id, started) && this.entries.get(id) === entry) {
      entry[direction] = edges;
      entry.edgeBytes = (entry.edgeBytes ?? 0) + listBytes(edges);
      this.insert(id, entry); // re-account
    }
    return edges;
  }

  private async scanEdges(id: string, direction: 'out' | 'in'): Promise<EdgeLifetime[]> {
    const prefix = direction === 'out' ? K.outPrefix(id) : K.inPrefix(id);
    return (await this.store.scanPrefix(prefix)).map(({ key, value }) => {
      const life = decodeLifetime(value);
      return { id: key.toString('utf8', prefix.length, key.length - 1), type: life.type, peer: life.peer!, createdAt: life.createdAt, terminatedAt: life.terminatedAt };
    });
  }

  /** Applies a durable flush: new versions, and edge lifetimes of the nodes they connect. */
  applyFlush(versions: StoredVersion[]): void {
    const ids = new Set<string>();
    for (const v of versions) {
      const e = v.entity;
      ids.add(e.id);
      const cached = this.entries.get(e.id);
      if (cached) {
        cached.versions.push(v.offset);
        cached.latest = v;
        cached.latestBytes = latestBytes(v);
        cached.rendered = undefined;
        this.insert(e.id, cached);
      } else if (e.createdAt === v.offset) {
        // A brand-new entity is fully known: no older versions, no edges yet.
        this.insert(e.id, { versions: [v.offset], latest: v, out: e.kind === 'node' ? [] : null, in: e.kind === 'node' ? [] : null, latestBytes: latestBytes(v), edgeBytes: 0 });
      }
      if (e.kind === 'edge' && (e.createdAt === v.offset || e.terminatedAt === v.offset)) {
        ids.add(e.from!).add(e.to!);
        this.applyEdge(e.from!, 'out', { id: e.id, type: e.type, peer: e.to!, createdAt: e.createdAt, terminatedAt: e.terminatedAt });
        this.applyEdge(e.to!, 'in', { id: e.id, type: e.type, peer: e.from!, createdAt: e.createdAt, terminatedAt: e.terminatedAt });
      }
    }
    this.generation++;
    this.recent.push({ generation: this.generation, ids });
    if (this.recent.length > FLUSH_MEMORY) this.recent.shift();
    if (this.bytes > this.bytesMax) this.evict(null); // edges added in place may have grown cached nodes
  }

  private applyEdge(node: string, direction: 'out' | 'in', life: EdgeLifetime): void {
    const entry = this.entries.get(node);
    const list = entry?.[direction];
    if (!entry || !list) return;
    const i = list.findIndex((x) => x.id === life.id);
    const delta = edgeBytes(life) - (i >= 0 ? edgeBytes(list[i]) : 0);
    entry.edgeBytes = (entry.edgeBytes ?? 0) + delta;
    entry.bytes = (entry.bytes ?? 0) + delta;
    this.bytes += delta;
    if (i >= 0) list[i] = life;
    else {
      // Keep key order (edge id) so cached and scanned adjacency render identically.
      let j = list.length;
      while (j > 0 && list[j - 1].id > life.id) j--;
      list.splice(j, 0, life);
    }
  }
}
