// Netting of change sequences: the one rule behind tx reports, diffs and history. Given changes in
// applicable order, it returns the net changes that turn the first slice into the last.

import type { AttrDefinition, Change, TypeDefinition, Value, ViewDefinition } from './types.js';
import { valueIdentity, valuesEqual } from './values.js';

interface EntityGroup {
  created: Change | null;
  terminated: boolean;
  /** Card-one attrs: the value before the span and after it, in first-appearance order. */
  sets: Map<string, { old: Value | null; new: Value | null }>;
  /** Card-many values: membership before and after the span, keyed by attr + identity. */
  members: Map<string, { attr: string; value: Value; before: boolean; after: boolean }>;
  order: string[]; // attr keys ('s:attr' / 'm:attr\0identity') in first-appearance order
}

function newGroup(): EntityGroup {
  return { created: null, terminated: false, sets: new Map(), members: new Map(), order: [] };
}

function record(group: EntityGroup, change: Change): void {
  switch (change.kind) {
    case 'created':
      group.created = change;
      return;
    case 'terminated':
      group.terminated = true;
      return;
    case 'set': {
      const prior = group.sets.get(change.attr);
      if (prior) prior.new = change.new;
      else {
        group.sets.set(change.attr, { old: change.old, new: change.new });
        group.order.push(`s:${change.attr}`);
      }
      return;
    }
    case 'added':
    case 'retracted': {
      const key = `${change.attr}\u0000${valueIdentity(change.value)}`;
      const prior = group.members.get(key);
      const after = change.kind === 'added';
      if (prior) prior.after = after;
      else {
        group.members.set(key, { attr: change.attr, value: change.value, before: !after, after });
        group.order.push(`m:${key}`);
      }
      return;
    }
    case 'schema':
      throw new Error('schema changes are not entity changes');
  }
}

function emit(id: string, group: EntityGroup, out: Change[]): void {
  if (group.created && group.terminated) return; // born and gone inside the span
  if (group.terminated) {
    out.push({ kind: 'terminated', id });
    return;
  }
  if (group.created) out.push(group.created);
  for (const key of group.order) {
    if (key.startsWith('s:')) {
      const attr = key.slice(2);
      const s = group.sets.get(attr)!;
      if (!valuesEqual(s.old, s.new)) out.push({ kind: 'set', id, attr, old: s.old, new: s.new });
    } else {
      const m = group.members.get(key.slice(2))!;
      if (m.before !== m.after) out.push({ kind: m.after ? 'added' : 'retracted', id, attr: m.attr, value: m.value });
    }
  }
}

function schemaName(c: Change & { kind: 'schema' }): string {
  if ('attr' in c) return `attr:${c.attr}`;
  return 'type' in c ? `type:${c.type}` : `view:${c.view}`;
}

/** The definitions in force before a span: a schema change back to one of them is no net change. */
export interface SchemaBefore {
  attr(name: string): AttrDefinition | undefined;
  type(name: string): TypeDefinition | undefined;
  view(name: string): ViewDefinition | undefined;
}

function definitionKey(d: AttrDefinition | TypeDefinition | ViewDefinition | null | undefined): string {
  if (!d) return 'none';
  if ('valueType' in d) return `attr:${d.valueType}:${d.cardinality}:${d.unique}`;
  if ('query' in d) return `view:${d.query}`;
  return `type:${d.kind}:${[...d.required].sort().join('\u0000')}`;
}

function schemaUnchanged(c: Change & { kind: 'schema' }, before: SchemaBefore): boolean {
  const prior = 'attr' in c ? before.attr(c.attr) : 'type' in c ? before.type(c.type) : before.view(c.view);
  return definitionKey(prior) === definitionKey(c.definition);
}

/**
 * Net changes of a sequence. Schema changes come first (last definition per name, dropped when it is
 * the definition in force before the sequence), then entities in order of first appearance, each as
 * created → value changes → or a single terminated.
 */
export function netChanges(changes: Iterable<Change>, schemaBefore: SchemaBefore): Change[] {
  const schema = new Map<string, Change>();
  const groups = new Map<string, EntityGroup>();
  for (const change of changes) {
    if (change.kind === 'schema') {
      const name = schemaName(change);
      schema.delete(name); // keep first-appearance order stable but the last definition
      schema.set(name, change);
      continue;
    }
    let group = groups.get(change.id);
    if (!group) groups.set(change.id, (group = newGroup()));
    record(group, change);
  }
  const out: Change[] = [...schema.values()].filter((c) => c.kind !== 'schema' || !schemaUnchanged(c, schemaBefore));
  for (const [id, group] of groups) emit(id, group, out);
  return out;
}

/** The id a change is about (schema changes have none). */
export function changeEntityId(change: Change): string | null {
  return change.kind === 'schema' ? null : change.id;
}
