// The view half of the library surface (StrataDb's view methods delegate here): definitions as of a basis,
// the static checks and txs of PUT/DELETE, and paged row reads that wait for a lagging view.

import { StrataError } from '../core/errors.js';
import { VIEW_NAME_PATTERN, type Limits } from '../core/limits.js';
import type { ViewInfo, ViewRowsPage } from '../core/strata-api.js';
import type { TxInput, ViewDefinition } from '../core/types.js';
import type { GraphHandle } from '../db/graph.js';
import { compileView } from './definition.js';
import type { ViewMaintainer } from './maintainer.js';
import { rowsAt } from './rows.js';

function notFound(graph: string, name: string, basis: number): StrataError {
  return new StrataError('view_not_found', `graph ${JSON.stringify(graph)} has no view ${JSON.stringify(name)} at offset ${basis}`, { view: name, basis });
}

/** The definition in force at `basis` and the offset it was made at, or null. */
export function definitionAt(handle: GraphHandle, name: string, basis: number): { definition: ViewDefinition; definedAt: number } | null {
  let found: { definition: ViewDefinition; definedAt: number } | null = null;
  for (const e of handle.materializer.schemaHistory) {
    if (e.offset > basis) break;
    if ('view' in e && e.view === name) found = e.definition === null ? null : { definition: e.definition, definedAt: e.offset };
  }
  return found;
}

/** Whether the view was ever defined (up to the latest materialized offset). */
export function everDefined(handle: GraphHandle, name: string): boolean {
  return handle.materializer.schemaHistory.some((e) => 'view' in e && e.view === name);
}

function infoOf(name: string, found: { definition: ViewDefinition; definedAt: number }, maintainer: ViewMaintainer): ViewInfo {
  const spec = maintainer.spec(found.definition);
  const fallback = spec.analysis.fallback;
  return {
    name,
    query: JSON.parse(found.definition.query) as unknown,
    columns: spec.columns,
    definedAt: found.definedAt,
    maintainedOffset: maintainer.offset,
    maintenance: fallback === null ? { mode: 'incremental' } : { mode: 'full', reason: fallback },
  };
}

export function viewInfo(graph: string, handle: GraphHandle, maintainer: ViewMaintainer, name: string, basis: number): ViewInfo {
  const found = definitionAt(handle, name, basis);
  if (found === null) throw notFound(graph, name, basis);
  return infoOf(name, found, maintainer);
}

export function listViews(handle: GraphHandle, maintainer: ViewMaintainer, basis: number): ViewInfo[] {
  return [...handle.schemaAt(basis).views.keys()].sort().map((name) => infoOf(name, definitionAt(handle, name, basis)!, maintainer));
}

function checkName(name: string): void {
  if (!VIEW_NAME_PATTERN.test(name)) throw new StrataError('invalid_view_name', `invalid view name ${JSON.stringify(name)}: view names match ${VIEW_NAME_PATTERN.source}`, { name });
}

/** The tx of PUT …/views/:name, after every static check (the query's faults point under `/query`). */
export function defineViewTx(handle: GraphHandle, name: string, query: unknown, limits: Limits, meta: Record<string, string> = {}): TxInput {
  checkName(name);
  let text: string;
  try {
    text = compileView(query, limits).text;
  } catch (err) {
    if (!(err instanceof StrataError) || err.code !== 'invalid_query') throw err;
    const pointer = `/query${String(err.details?.['pointer'] ?? '')}`;
    throw new StrataError('invalid_query', `${pointer}: ${String(err.details?.['reason'] ?? err.message)}`, { ...err.details, pointer });
  }
  const views = handle.schemaAt(handle.durableOffset).views;
  if (!views.has(name) && views.size >= limits.viewsPerGraphMax) {
    throw new StrataError('too_many_views', `graph ${JSON.stringify(handle.name)} has ${views.size} views, the limit; retire one first`, { max: limits.viewsPerGraphMax });
  }
  return { id: null, meta, ops: [{ op: 'defineView', name, query: text }] };
}

/** The tx of DELETE …/views/:name; view_not_found when it is not defined at the latest materialized offset. */
export function retireViewTx(handle: GraphHandle, name: string, meta: Record<string, string> = {}): TxInput {
  checkName(name);
  if (!handle.schemaAt(handle.durableOffset).views.has(name)) throw notFound(handle.name, name, handle.durableOffset);
  return { id: null, meta, ops: [{ op: 'retireView', name }] };
}

/** A page of rows as of a resolved basis, once the view is maintained that far (bounded wait). */
export async function viewRowsPage(graph: string, handle: GraphHandle, maintainer: ViewMaintainer, name: string, basis: number, page: { limit: number; after?: string }, waitMs: number): Promise<ViewRowsPage> {
  const found = definitionAt(handle, name, basis);
  if (found === null) throw notFound(graph, name, basis);
  await maintainer.waitFor(basis, waitMs);
  if (page.after !== undefined && !/^(?:[0-9a-f]{2})*$/.test(page.after)) {
    throw new StrataError('invalid_cursor', 'invalid cursor: not a row position returned by this view', { reason: 'row key' });
  }
  const { rows, next } = await rowsAt(handle.store, name, basis, page.after ?? null, page.limit);
  return { basis, columns: maintainer.spec(found.definition).columns, rows, next };
}
