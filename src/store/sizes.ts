// Approximate heap bytes of decoded state, for the byte bounds of the in-memory caches (docs/limits.md:
// `entityCacheBytesMax`, `readCacheBytesMax`). One walk over an entity's attributes and values, made once
// when an entry enters a cache: far cheaper than the JSON encoding the materializer already does per
// changed entity. The constants were fitted to V8 (Node 20, 64-bit, no pointer compression) by
// measuring decoded versions of 1–20 attributes and 4 B – 20 KB strings (test/memory/caches.test.ts
// checks the fit); strings count one byte per character (a string with characters above U+00FF costs
// twice that in V8, so such values are undercounted by up to half).

import type { Change, Value } from '../core/types.js';
import type { StoredEntity, StoredVersion } from './records.js';

/** A string's header and hash field. */
const STRING_BYTES = 16;
/** The entity object, its attrs Map and its backing store. */
const ENTITY_BYTES = 260;
/** One Map entry (key slot, value slot), the values array and the attribute name string. */
const ATTR_BYTES = 80;
/** One `{t, v}` value object. */
const VALUE_BYTES = 48;
/** A change object with its id and attribute strings (their characters counted separately). */
const CHANGE_BYTES = 96;
/** A StoredVersion object and its changes array. */
const VERSION_BYTES = 64;

function stringBytes(s: string): number {
  return STRING_BYTES + s.length;
}

export function valueBytes(v: Value): number {
  return VALUE_BYTES + (typeof v.v === 'string' ? stringBytes(v.v) : 0);
}

export function entityBytes(e: StoredEntity): number {
  let n = ENTITY_BYTES + stringBytes(e.id);
  for (const [attr, values] of e.attrs) {
    n += ATTR_BYTES + stringBytes(attr);
    for (const v of values) n += valueBytes(v);
  }
  return n;
}

function changeBytes(c: Change): number {
  let n = CHANGE_BYTES;
  if ('id' in c) n += c.id.length;
  if ('attr' in c) n += c.attr.length;
  switch (c.kind) {
    case 'set':
      if (c.old !== null) n += valueBytes(c.old);
      if (c.new !== null) n += valueBytes(c.new);
      break;
    case 'added':
    case 'retracted':
      n += valueBytes(c.value);
      break;
    case 'created':
      n += c.type.length + (c.entity === 'edge' ? c.from.length + c.to.length : 0);
      break;
    default:
      break;
  }
  return n;
}

/** A decoded version: the entity, its own net changes and the version object. */
export function versionBytes(v: StoredVersion): number {
  let n = VERSION_BYTES + entityBytes(v.entity);
  for (const c of v.changes) n += changeBytes(c);
  return n;
}

/**
 * The attributes rendered for responses (reader.ts `attrsCached`): an object slot per attribute and, for
 * values that render to new objects (json, instants, bytes, longs beyond 2^53), about their text again.
 */
export function renderedBytes(e: StoredEntity): number {
  let n = 64;
  for (const values of e.attrs.values()) {
    n += 24 + (values.length > 1 ? 16 + 8 * values.length : 0);
    for (const v of values) if (v.t === 'j' || v.t === 'y' || v.t === 'i' || v.t === 'l') n += 48 + (typeof v.v === 'string' ? 2 * v.v.length : 0);
  }
  return n;
}
