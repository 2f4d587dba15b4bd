// Listing entities as of a basis: by type (type index), by attribute values (value index, ANDed),
// or both; sorted by id (by type then id when no type is given) and paged with an exclusive cursor.

import type { EntityView, ListQuery } from '../core/strata-api.js';
import type { Value, WireValue } from '../core/types.js';
import { coerceValue } from '../core/values.js';
import type { GraphHandle } from './graph.js';

/** A `where=` value (already JSON-parsed) as a published value; null when it cannot be one. */
function wireOf(value: unknown): WireValue | null {
  if (typeof value === 'string') return { t: 's', v: value };
  if (typeof value === 'boolean') return { t: 'b', v: value };
  if (typeof value === 'number' && Number.isFinite(value)) return Number.isSafeInteger(value) ? { t: 'l', v: String(value) } : { t: 'n', v: value };
  return null;
}

async function idsMatchingWhere(h: GraphHandle, query: ListQuery, basis: number): Promise<string[]> {
  const defs = h.schemaAt(basis).attrs;
  let result: string[] | null = null;
  for (const { attr, value } of query.where) {
    const wire = wireOf(value);
    const v: Value | null = wire && coerceValue(wire, defs.get(attr));
    if (!v) return [];
    const ids: string[] = await h.reader.idsWithValue(attr, v, basis);
    const keep: Set<string> | null = result === null ? null : new Set(result);
    result = keep === null ? ids : ids.filter((id) => keep.has(id));
  }
  return result ?? [];
}

async function render(h: GraphHandle, ids: string[], basis: number): Promise<EntityView[]> {
  const views = await Promise.all(ids.map((id) => h.reader.entity(id, basis)));
  return views.filter((v): v is EntityView => v !== null);
}

export async function listEntities(h: GraphHandle, query: ListQuery, basis: number): Promise<{ items: EntityView[]; nextAfterId: string | null }> {
  if (basis < 0) return { items: [], nextAfterId: null };
  if (query.where.length > 0) {
    const ids = (await idsMatchingWhere(h, query, basis)).filter((id) => query.afterId === undefined || id > query.afterId).sort();
    const items: EntityView[] = [];
    for (let i = 0; i < ids.length && items.length <= query.limit; i += query.limit) {
      const views = await render(h, ids.slice(i, i + query.limit), basis);
      items.push(...views.filter((v) => query.type === undefined || v.type === query.type));
    }
    const more = items.length > query.limit;
    items.length = Math.min(items.length, query.limit);
    return { items, nextAfterId: more ? items[items.length - 1].id : null };
  }
  const { ids, keys } = await h.reader.idsByType(query.type ?? null, query.afterId, query.limit + 1, basis);
  const more = ids.length > query.limit;
  const page = ids.slice(0, query.limit);
  return { items: await render(h, page, basis), nextAfterId: more ? keys[page.length - 1] : null };
}
