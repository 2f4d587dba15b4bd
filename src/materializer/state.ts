// The state the fold reads and produces: entity states, the schema, and the read-only input the
// materializer prefetches before folding a tx (the fold itself never awaits).

import type { AttrDefinition, TypeDefinition, ViewDefinition } from '../core/types.js';
import type { StoredEntity } from '../store/records.js';

/** The fold works on exactly what an entity version stores. */
export type EntityState = StoredEntity;

export interface Schema {
  attrs: Map<string, AttrDefinition>;
  types: Map<string, TypeDefinition>;
  /** Views in force (DESIGN §6): defined by tx ops like the rest of the schema, so every offset knows them. */
  views: Map<string, ViewDefinition>;
}

export function emptySchema(): Schema {
  return { attrs: new Map(), types: new Map(), views: new Map() };
}

export function cloneSchema(s: Schema): Schema {
  return { attrs: new Map(s.attrs), types: new Map(s.types), views: new Map(s.views) };
}

export function cloneEntity(e: EntityState): EntityState {
  return { ...e, attrs: new Map([...e.attrs].map(([k, v]) => [k, [...v]])) };
}

export function isLive(e: EntityState | undefined): e is EntityState {
  return e !== undefined && e.terminatedAt === null;
}

/**
 * What the fold may read, all prefetched. Each lookup describes the state before the tx; asking for
 * something that was not prefetched is a programmer error and throws.
 */
export interface FoldInput {
  schema: Schema;
  /** undefined = the id was never used by a committed tx. */
  entity(id: string): EntityState | undefined;
  /** Live edges (out and in) of a node, sorted by id. */
  liveEdges(nodeId: string): string[];
  /** Live entities holding `identity` (values.valueIdentity) for `attr`. */
  uniqueHolders(attr: string, identity: string): string[];
  /** Live entities holding any value for `attr`. */
  attrHolders(attr: string): string[];
  /** Live entities of `type`. */
  typeMembers(type: string): string[];
  /** Offset at which an idempotency key committed, if it did. */
  committedOffsetOfKey(key: string): number | undefined;
}
