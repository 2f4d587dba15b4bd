// Turns a committed fold result into key-value puts: entity versions, lifetimes in the type and
// adjacency indexes, and assert/retract entries in the value index.

import type { Change, TxReport, Value } from '../core/types.js';
import { valueIdentity } from '../core/values.js';
import * as K from '../store/keys.js';
import { encodeLifetime, encodeVersion, type StoredVersion } from '../store/records.js';
import type { KeyValue } from '../store/rocks.js';
import type { FoldResult } from './fold.js';
import type { EntityState } from './state.js';

const ASSERT = Buffer.from([1]);
const RETRACT = Buffer.from([0]);

function lifetimePuts(out: KeyValue[], e: EntityState): void {
  const life = { createdAt: e.createdAt, terminatedAt: e.terminatedAt };
  out.push({ key: K.typeKey(e.type, e.id), value: encodeLifetime({ type: e.type, ...life }) });
  if (e.kind === 'edge') {
    out.push({ key: K.outKey(e.from!, e.id), value: encodeLifetime({ type: e.type, peer: e.to!, ...life }) });
    out.push({ key: K.inKey(e.to!, e.id), value: encodeLifetime({ type: e.type, peer: e.from!, ...life }) });
  }
}

function liveValues(e: EntityState | undefined): Map<string, Value[]> {
  return e && e.terminatedAt === null ? e.attrs : new Map();
}

function valueIndexPuts(out: KeyValue[], base: EntityState | undefined, next: EntityState, offset: number): void {
  const before = liveValues(base);
  const after = liveValues(next);
  const put = (attr: string, v: Value, flag: Buffer): void => {
    out.push({ key: K.attrValueKey(attr, v, next.id, offset), value: flag });
  };
  for (const [attr, has] of after) {
    const had = before.get(attr);
    if (had === undefined) {
      for (const v of has) put(attr, v, ASSERT);
    } else if (had.length === 1 && has.length === 1) {
      // Cardinality one, the common case: no sets to build.
      if (valueIdentity(had[0]!) !== valueIdentity(has[0]!)) {
        put(attr, had[0]!, RETRACT);
        put(attr, has[0]!, ASSERT);
      }
    } else {
      const hadIds = new Set(had.map(valueIdentity));
      const hasIds = new Set(has.map(valueIdentity));
      for (const v of had) if (!hasIds.has(valueIdentity(v))) put(attr, v, RETRACT);
      for (const v of has) if (!hadIds.has(valueIdentity(v))) put(attr, v, ASSERT);
    }
  }
  for (const [attr, had] of before) if (!after.has(attr)) for (const v of had) put(attr, v, RETRACT);
}

/**
 * Stages the puts of a committed tx. `bases` holds each changed entity's state before the tx
 * (undefined when the tx created it); the new versions are appended to `versions`. Returns the
 * change in the live entity count.
 */
export function stageCommitted(out: KeyValue[], report: TxReport, result: FoldResult, bases: (EntityState | undefined)[], versions: StoredVersion[]): number {
  const own = new Map<string, Change[]>();
  for (const c of report.changes) {
    if (c.kind === 'schema') continue;
    const list = own.get(c.id);
    if (list === undefined) own.set(c.id, [c]);
    else list.push(c);
  }
  let liveDelta = 0;
  result.entities.forEach((e, i) => {
    const base = bases[i];
    const version: StoredVersion = { entity: e, offset: report.offset, timeMs: report.timeMs, changes: own.get(e.id) ?? [] };
    const encoded = encodeVersion(version);
    out.push({ key: K.entityVersionKey(e.id, report.offset), value: encoded });
    out.push({ key: K.currentKey(e.id), value: encoded });
    versions.push(version);
    const created = base === undefined;
    const terminatedNow = e.terminatedAt !== null && (created || base.terminatedAt === null);
    if (created || terminatedNow) lifetimePuts(out, e);
    if (created && e.terminatedAt === null) liveDelta++;
    if (!created && terminatedNow) liveDelta--;
    if (!(created && e.terminatedAt !== null)) valueIndexPuts(out, base, e, report.offset);
  });
  return liveDelta;
}
