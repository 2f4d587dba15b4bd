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
  for (const attr of new Set([...before.keys(), ...after.keys()])) {
    const had = new Map((before.get(attr) ?? []).map((v) => [valueIdentity(v), v]));
    const has = new Map((after.get(attr) ?? []).map((v) => [valueIdentity(v), v]));
    for (const [identity, v] of had) if (!has.has(identity)) out.push({ key: K.attrValueKey(attr, v, next.id, offset), value: RETRACT });
    for (const [identity, v] of has) if (!had.has(identity)) out.push({ key: K.attrValueKey(attr, v, next.id, offset), value: ASSERT });
  }
}

/**
 * Stages the puts of a committed tx. `bases` holds each changed entity's state before the tx
 * (undefined when the tx created it); the new versions are appended to `versions`. Returns the
 * change in the live entity count.
 */
export function stageCommitted(out: KeyValue[], report: TxReport, result: FoldResult, bases: (EntityState | undefined)[], versions: StoredVersion[]): number {
  const own = new Map<string, Change[]>();
  for (const c of report.changes) if (c.kind !== 'schema') own.set(c.id, [...(own.get(c.id) ?? []), c]);
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
