// Subscription filters (`types=`, `ids=`, `attrs=`): which changes of a tx report a client asked for.
// Lists are ORed inside one filter and the filters are ANDed. Value and lifecycle changes do not name
// their entity's type, so type filters look it up once per entity: ids are never reused and an entity
// never changes type, which makes a per-stream cache exact.

import type { Change, TxReport } from '../core/types.js';

export interface FilterSpec {
  types: ReadonlySet<string> | null;
  ids: ReadonlySet<string> | null;
  attrs: ReadonlySet<string> | null;
}

/** Returns the entity's type as of `offset` (or just before, for an entity terminated at it). */
export type TypeLookup = (id: string, offset: number) => Promise<string | null>;

/** Types remembered per stream; beyond this the oldest entries are forgotten and looked up again. */
const TYPE_CACHE_ENTRIES_MAX = 10_000;

export function parseList(raw: string | undefined): ReadonlySet<string> | null {
  if (raw === undefined) return null;
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length === 0 ? null : new Set(items);
}

export class ChangeFilter {
  private readonly typeById = new Map<string, string>();

  constructor(
    private readonly spec: FilterSpec,
    private readonly lookupType: TypeLookup,
  ) {}

  /** The entity ids the stream follows (null: any): reports naming none of them carry nothing for it. */
  get ids(): ReadonlySet<string> | null {
    return this.spec.ids;
  }

  get active(): boolean {
    return this.spec.types !== null || this.spec.ids !== null || this.spec.attrs !== null;
  }

  /** The report's changes that pass every filter, in their original order. */
  async select(report: TxReport): Promise<Change[]> {
    const sync = this.selectSync(report);
    if (sync !== undefined) return sync;
    const { types, ids, attrs } = this.spec;
    const kept: Change[] = [];
    for (const c of report.changes) {
      if (!this.passesIdsAndAttrs(c, ids, attrs)) continue;
      if (types !== null && !types.has((await this.typeOf(c, report.offset)) ?? '')) continue;
      kept.push(c);
    }
    return kept;
  }

  private passesIdsAndAttrs(c: Change, ids: FilterSpec['ids'], attrs: FilterSpec['attrs']): boolean {
    return (ids === null || ('id' in c && ids.has(c.id))) && (attrs === null || ('attr' in c && attrs.has(c.attr)));
  }

  /** The same selection without awaiting, or undefined when a type must first be looked up. */
  selectSync(report: TxReport): Change[] | undefined {
    const { types, ids, attrs } = this.spec;
    for (const c of report.changes) if (c.kind === 'created') this.remember(c.id, c.type);
    const kept: Change[] = [];
    for (const c of report.changes) {
      if (!this.passesIdsAndAttrs(c, ids, attrs)) continue;
      if (types !== null) {
        const type = this.knownTypeOf(c);
        if (type === undefined) return undefined;
        if (!types.has(type ?? '')) continue;
      }
      kept.push(c);
    }
    return kept;
  }

  /** A change's entity type when known without I/O: null = none, undefined = must be looked up. */
  private knownTypeOf(c: Change): string | null | undefined {
    if (c.kind === 'schema') return 'type' in c ? c.type : null;
    if (c.kind === 'created') return c.type;
    return this.typeById.get(c.id);
  }

  private async typeOf(c: Change, offset: number): Promise<string | null> {
    if (c.kind === 'schema') return 'type' in c ? c.type : null;
    if (c.kind === 'created') return c.type;
    const known = this.typeById.get(c.id);
    if (known !== undefined) return known;
    const type = await this.lookupType(c.id, offset);
    if (type !== null) this.remember(c.id, type);
    return type;
  }

  private remember(id: string, type: string): void {
    if (this.typeById.size >= TYPE_CACHE_ENTRIES_MAX) {
      const oldest = this.typeById.keys().next();
      if (oldest.done !== true) this.typeById.delete(oldest.value);
    }
    this.typeById.set(id, type);
  }
}
