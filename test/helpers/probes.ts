// Contract probes: each one asks the engine a §4 question over HTTP and compares the answer with the
// reference fold (test/reference/model.ts). Disagreements are collected (not thrown) so one run reports
// every kind of mismatch it meets, each with the offset and ids needed to reproduce it.

import type { Http, HttpResponse } from './http.js';
import {
  ReferenceModel,
  applyDiff,
  canonical,
  changeMultisetDiff,
  checkChangeOrder,
  slicesEqual,
  sliceToJson,
  type ChangeJson,
  type EntityJson,
  type Outcome,
  type Scalar,
  type TxBody,
  type TxRecord,
} from '../reference/model.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Typed JSON values back to plain scalars (`{"$long":"5"}` → 5); the generator only uses safe ranges. */
export function plainValue(v: unknown): unknown {
  if (isObj(v) && typeof v['$long'] === 'string') return Number(v['$long']);
  if (isObj(v) && typeof v['$double'] === 'number') return v['$double'];
  if (Array.isArray(v)) return v.map(plainValue);
  return v;
}

function plainAttrs(attrs: unknown): Obj {
  const out: Obj = {};
  if (isObj(attrs)) for (const [k, v] of Object.entries(attrs)) out[k] = plainValue(v);
  return out;
}

/** An engine entity body in the comparable form: `basis` stripped, out/in as sets sorted by id. */
export function normEntity(body: unknown): unknown {
  if (!isObj(body)) return body;
  const { basis: _basis, ...rest } = body;
  const e: Obj = { ...rest, attrs: plainAttrs(rest['attrs']) };
  for (const k of ['out', 'in']) {
    if (Array.isArray(e[k])) e[k] = [...(e[k] as Obj[])].sort((a, b) => (String(a['id']) < String(b['id']) ? -1 : 1));
  }
  return e;
}

export function normChange(c: unknown): ChangeJson {
  if (!isObj(c)) return c as ChangeJson;
  const out: Obj = { ...c };
  for (const k of ['old', 'new', 'value']) if (k in out) out[k] = plainValue(out[k]);
  return out as unknown as ChangeJson;
}

function modelEntity(model: ReferenceModel, id: string, at: number): unknown {
  return normEntity(model.entity(id, at));
}

export function whereParam(attr: string, value: Scalar, quoteStrings: boolean): string {
  if (typeof value !== 'string') return `${attr}:${JSON.stringify(value)}`;
  let parses = true;
  try {
    JSON.parse(value);
  } catch {
    parses = false;
  }
  return `${attr}:${quoteStrings || parses ? JSON.stringify(value) : value}`;
}

export function expectedPublishReply(rec: TxRecord): { status: number; body: Obj } {
  const o: Outcome = rec.outcome;
  if (o.status === 'committed') return { status: 200, body: { offset: rec.offset, status: 'committed' } };
  if (o.code === 'duplicate_tx') return { status: 200, body: { offset: o.originalOffset, status: 'committed', duplicate: true } };
  return { status: 409, body: { offset: rec.offset, status: 'aborted', error: { code: o.code, op: o.op } } };
}

/** The fields of a publish reply (single or one batch result) that the reference outcome determines. */
function replyFields(rec: TxRecord, reply: unknown): Obj {
  const want = expectedPublishReply(rec);
  const body = isObj(reply) ? reply : {};
  const got: Obj = { offset: body['offset'], status: body['status'] };
  if (want.body['duplicate'] !== undefined) got['duplicate'] = body['duplicate'];
  if (want.status === 409) {
    const err = isObj(body['error']) ? body['error'] : {};
    got['error'] = { code: err['code'], op: err['op'] };
  }
  return got;
}

/** Compares a publish reply with the reference outcome; returns a description of the mismatch or null. */
export function comparePublishReply(rec: TxRecord, res: HttpResponse): string | null {
  const want = expectedPublishReply(rec);
  if (res.status === want.status && canonical(replyFields(rec, res.body)) === canonical(want.body)) return null;
  return `publish @${rec.offset} ${JSON.stringify(rec.body)}: expected ${want.status} ${canonical(want.body)}, got ${res.status} ${res.text.slice(0, 400)}`;
}

/** Compares one result of a `transactions:batch` reply with the reference outcome. */
export function compareBatchResult(rec: TxRecord, result: unknown): string | null {
  const want = expectedPublishReply(rec);
  if (canonical(replyFields(rec, result)) === canonical(want.body)) return null;
  return `batch publish @${rec.offset} ${JSON.stringify(rec.body)}: expected ${canonical(want.body)}, got ${JSON.stringify(result).slice(0, 400)}`;
}

/** The tx time of a 200 publish reply in ms (undefined when absent). */
export function replyTimeMs(res: HttpResponse): number | undefined {
  const t = isObj(res.body) ? res.body['time'] : undefined;
  return typeof t === 'string' ? Date.parse(t) : undefined;
}

function normOp(op: unknown): unknown {
  if (!isObj(op)) return op;
  const out: Obj = { ...op };
  if ('value' in out) out['value'] = plainValue(out['value']);
  return out;
}

export class Prober {
  readonly failures: string[] = [];
  readonly counts = new Map<string, number>();
  readonly base: string;

  constructor(
    readonly http: Http,
    readonly model: ReferenceModel,
    graph = 'g1',
  ) {
    this.base = `/v1/graphs/${graph}`;
  }

  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  private count(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  fail(kind: string, message: string): void {
    this.failures.push(`[${kind}] ${message}`);
  }

  /** Checks the Strata-Basis header and the `basis` field of a read. */
  private checkBasis(kind: string, what: string, res: HttpResponse, basis: number, field = 'basis'): void {
    const body = isObj(res.body) ? res.body : {};
    if (res.headers['strata-basis'] !== String(basis) || body[field] !== basis) {
      this.fail(kind, `${what}: basis header ${res.headers['strata-basis']} / field ${String(body[field])}, expected ${basis}`);
    }
  }

  /** Learns every tx time from the log view (aborted replies carry none) and checks monotonicity. */
  async loadTimes(): Promise<void> {
    let prev = -Infinity;
    for (const t of this.model.txs) {
      const res = await this.http('GET', `${this.base}/transactions/${t.offset}`);
      const time = isObj(res.body) && typeof res.body['time'] === 'string' ? Date.parse(res.body['time']) : NaN;
      if (Number.isNaN(time)) {
        this.fail('tx', `GET /transactions/${t.offset}: no time (${res.status} ${res.text.slice(0, 200)})`);
        continue;
      }
      if (time < prev) this.fail('tx', `tx time goes backwards at offset ${t.offset}`);
      prev = time;
      this.model.setTime(t.offset, time);
    }
  }

  async tx(offset: number): Promise<void> {
    this.count('tx');
    const rec = this.model.txs[offset]!;
    const res = await this.http('GET', `${this.base}/transactions/${offset}`);
    const what = `GET /transactions/${offset}`;
    if (res.status !== 200 || !isObj(res.body)) return this.fail('tx', `${what}: ${res.status} ${res.text.slice(0, 300)}`);
    const b = res.body;
    const problems: string[] = [];
    if (b['offset'] !== offset) problems.push(`offset ${String(b['offset'])}`);
    const status = rec.outcome.status;
    if (b['status'] !== status) problems.push(`status ${String(b['status'])} (expected ${status})`);
    if ((b['id'] ?? null) !== (rec.body.id ?? null)) problems.push(`id ${String(b['id'])} (expected ${rec.body.id ?? null})`);
    if (typeof b['time'] !== 'string' || Date.parse(b['time']) !== rec.timeMs || !/(Z|\+00:00)$/.test(b['time'])) problems.push(`time ${String(b['time'])}`);
    if (Array.isArray(b['changes'])) {
      // Not in the §4 item shape, but when the log view carries the tx's changes they must be its net changes.
      const d = changeMultisetDiff(b['changes'].map(normChange), rec.changes);
      if (d.onlyA.length + d.onlyB.length > 0) problems.push(`changes: extra ${d.onlyA.join(' ')} missing ${d.onlyB.join(' ')}`);
    }
    const meta = isObj(b['meta']) ? b['meta'] : {};
    for (const [k, v] of Object.entries(rec.body.meta ?? {})) if (meta[k] !== v) problems.push(`meta.${k} = ${String(meta[k])}`);
    const ops = Array.isArray(b['ops']) ? b['ops'].map(normOp) : [];
    if (canonical(ops) !== canonical(rec.body.ops)) problems.push(`ops ${JSON.stringify(b['ops']).slice(0, 300)}`);
    if (rec.outcome.status === 'aborted') {
      const err = isObj(b['error']) ? b['error'] : {};
      if (err['code'] !== rec.outcome.code || (err['op'] ?? null) !== rec.outcome.op) {
        problems.push(`error ${JSON.stringify(b['error'])} (expected code ${rec.outcome.code}, op ${rec.outcome.op})`);
      }
    } else if (b['error'] !== undefined && b['error'] !== null) problems.push(`unexpected error ${JSON.stringify(b['error'])}`);
    if (problems.length > 0) this.fail('tx', `${what}: ${problems.join('; ')}`);
  }

  async entity(id: string, at: number): Promise<void> {
    this.count('entity');
    const res = await this.http('GET', `${this.base}/entities/${encodeURIComponent(id)}?at=${at}`);
    const want = this.model.entity(id, at);
    const what = `GET /entities/${id}?at=${at}`;
    if (want === null) {
      if (res.status !== 404) this.fail('entity', `${what}: expected 404, got ${res.status} ${res.text.slice(0, 300)}`);
      return;
    }
    if (res.status !== 200) return this.fail('entity', `${what}: expected 200 ${canonical(want)}, got ${res.status} ${res.text.slice(0, 300)}`);
    this.checkBasis('entity', what, res, at);
    const got = normEntity(res.body);
    const exp = modelEntity(this.model, id, at);
    if (canonical(got) !== canonical(exp)) this.fail('entity', `${what}:\n  expected ${canonical(exp)}\n  got      ${canonical(got)}`);
  }

  /** asOf=<tx time of X>: the basis is the latest offset whose time is at or before it. */
  async asOf(id: string, offset: number): Promise<void> {
    this.count('asOf');
    const time = new Date(this.model.txs[offset]!.timeMs).toISOString();
    const basis = this.model.offsetAsOf(this.model.txs[offset]!.timeMs);
    const res = await this.http('GET', `${this.base}/entities/${encodeURIComponent(id)}?asOf=${encodeURIComponent(time)}`);
    const want = this.model.entity(id, basis);
    const what = `GET /entities/${id}?asOf=${time} (basis ${basis})`;
    if (want === null) {
      if (res.status !== 404) this.fail('asOf', `${what}: expected 404, got ${res.status} ${res.text.slice(0, 200)}`);
      return;
    }
    if (res.status !== 200) return this.fail('asOf', `${what}: expected 200, got ${res.status} ${res.text.slice(0, 200)}`);
    this.checkBasis('asOf', what, res, basis);
    if (canonical(normEntity(res.body)) !== canonical(normEntity(want))) this.fail('asOf', `${what}: entity differs`);
  }

  /** A listing, paged through with `next` cursors; compared as a set of full entities. */
  async list(at: number | undefined, filter: { type?: string; where?: { attr: string; value: Scalar; quote?: boolean }[] }, limit?: number): Promise<void> {
    this.count('list');
    const basis = at ?? this.model.latestOffset;
    const params = new URLSearchParams();
    if (filter.type !== undefined) params.append('type', filter.type);
    for (const w of filter.where ?? []) params.append('where', whereParam(w.attr, w.value, w.quote ?? false));
    if (limit !== undefined) params.set('limit', String(limit));
    const what = `GET /entities?${params.toString()}&at=${at}`;
    const items: unknown[] = [];
    let query = at === undefined ? params.toString() : `${params.toString()}&at=${at}`;
    for (let page = 0; page < 2000; page++) {
      const res = await this.http('GET', `${this.base}/entities?${query}`);
      if (res.status !== 200 || !isObj(res.body) || !Array.isArray(res.body['items'])) {
        return this.fail('list', `${what} page ${page}: ${res.status} ${res.text.slice(0, 300)}`);
      }
      this.checkBasis('list', `${what} page ${page}`, res, basis);
      if (limit !== undefined && res.body['items'].length > limit) this.fail('list', `${what}: page of ${res.body['items'].length} > limit ${limit}`);
      items.push(...res.body['items']);
      const next = res.body['next'];
      if (next === null || next === undefined) break;
      const p = new URLSearchParams(params);
      p.set('cursor', String(next));
      query = p.toString();
    }
    const want = this.model.list(basis, { type: filter.type, where: filter.where });
    const gotIds = items.map((e) => (isObj(e) ? String(e['id']) : '?'));
    const wantIds = want.map((e) => e.id);
    if (new Set(gotIds).size !== gotIds.length) this.fail('list', `${what}: duplicate items ${gotIds.join(',')}`);
    if (canonical([...gotIds].sort()) !== canonical(wantIds)) {
      return this.fail('list', `${what}:\n  expected ids ${wantIds.join(',')}\n  got ids      ${gotIds.join(',')}`);
    }
    const byId = new Map(items.map((e) => [isObj(e) ? String(e['id']) : '?', e]));
    for (const w of want) {
      const got = normEntity(byId.get(w.id));
      if (canonical(got) !== canonical(normEntity(w))) {
        this.fail('list', `${what}: item ${w.id}\n  expected ${canonical(normEntity(w))}\n  got      ${canonical(got)}`);
      }
    }
  }

  async history(id: string, at: number): Promise<void> {
    this.count('history');
    const res = await this.http('GET', `${this.base}/entities/${encodeURIComponent(id)}/history?at=${at}`);
    const want = this.model.history(id, at);
    const what = `GET /entities/${id}/history?at=${at}`;
    if (want === null) {
      if (res.status !== 404) this.fail('history', `${what}: expected 404, got ${res.status} ${res.text.slice(0, 300)}`);
      return;
    }
    if (res.status !== 200 || !isObj(res.body) || !Array.isArray(res.body['changes'])) {
      return this.fail('history', `${what}: expected 200, got ${res.status} ${res.text.slice(0, 300)}`);
    }
    this.checkBasis('history', what, res, at);
    const got = res.body['changes'].map((e) => {
      const { offset, time, ...change } = isObj(e) ? e : {};
      return { offset: offset as number, time: Date.parse(String(time)), change: normChange(change) };
    });
    const problems: string[] = [];
    for (let i = 1; i < got.length; i++) if (got[i]!.offset < got[i - 1]!.offset) problems.push(`offsets not ascending at entry ${i}`);
    const offsets = [...new Set([...got.map((g) => g.offset), ...want.map((w) => w.offset)])].sort((a, b) => a - b);
    for (const off of offsets) {
      const g = got.filter((x) => x.offset === off);
      const w = want.filter((x) => x.offset === off);
      const d = changeMultisetDiff(g.map((x) => x.change), w.map((x) => x.change));
      if (d.onlyA.length + d.onlyB.length > 0) problems.push(`@${off} extra ${d.onlyA.join(' ')} missing ${d.onlyB.join(' ')}`);
      const order = checkChangeOrder(g.map((x) => x.change));
      if (order !== null) problems.push(`@${off} order: ${order}`);
      const tw = this.model.txs[off]?.timeMs;
      if (g.some((x) => x.time !== tw)) problems.push(`@${off} time ${new Date(g[0]!.time).toISOString()} expected ${tw === undefined ? '?' : new Date(tw).toISOString()}`);
    }
    if (problems.length > 0) this.fail('history', `${what}: ${problems.join('; ')}`);
  }

  /** A diff checked four ways: applies to slice A giving slice B, is net, keeps per-entity order, skips transients. */
  async diff(from: number, to: number, filter: { id?: string; type?: string } = {}): Promise<void> {
    this.count('diff');
    const params = new URLSearchParams({ from: String(from), to: String(to) });
    if (filter.id !== undefined) params.set('id', filter.id);
    if (filter.type !== undefined) params.set('type', filter.type);
    const what = `GET /diff?${params.toString()}`;
    const res = await this.http('GET', `${this.base}/diff?${params.toString()}`);
    if (res.status !== 200 || !isObj(res.body) || !Array.isArray(res.body['changes'])) {
      return this.fail('diff', `${what}: ${res.status} ${res.text.slice(0, 300)}`);
    }
    const b = res.body;
    if (b['from'] !== from || b['to'] !== to || b['basis'] !== to) this.fail('diff', `${what}: from/to/basis ${String(b['from'])}/${String(b['to'])}/${String(b['basis'])}`);
    const got = (b['changes'] as unknown[]).map(normChange);
    const want = this.model.diff(from, to);
    if (filter.id !== undefined || filter.type !== undefined) {
      // Filtered diffs: compared on entity changes only (whether schema changes pass a filter is not specified).
      const typeOf = (id: string) => this.model.typeOf(id, Math.max(from, to));
      const keep = (c: ChangeJson) => c.kind !== 'schema' && (filter.id === undefined || c.id === filter.id) && (filter.type === undefined || typeOf(c.id) === filter.type);
      const d = changeMultisetDiff(got.filter((c) => c.kind !== 'schema'), want.filter(keep));
      if (d.onlyA.length + d.onlyB.length > 0) this.fail('diff', `${what}: extra ${d.onlyA.slice(0, 6).join(' ')} missing ${d.onlyB.slice(0, 6).join(' ')}`);
      return;
    }
    const problems: string[] = [];
    try {
      const applied = applyDiff(this.model.sliceAt(from), got);
      if (!slicesEqual(applied, this.model.sliceAt(to))) {
        problems.push(`applying it to slice ${from} does not give slice ${to}: ${firstSliceDifference(sliceToJson(applied), sliceToJson(this.model.sliceAt(to)))}`);
      }
    } catch (err) {
      problems.push((err as Error).message);
    }
    const d = changeMultisetDiff(got, want);
    if (d.onlyA.length + d.onlyB.length > 0) problems.push(`not the net change set: extra ${d.onlyA.slice(0, 6).join(' ')} missing ${d.onlyB.slice(0, 6).join(' ')}`);
    const order = checkChangeOrder(got);
    if (order !== null) problems.push(`order: ${order}`);
    const transient = new Set(this.model.transientIds(from, to));
    const leaked = got.filter((c) => c.kind !== 'schema' && transient.has(c.id));
    if (leaked.length > 0) problems.push(`entities created and terminated inside the span appear: ${leaked.map((c) => canonical(c)).slice(0, 4).join(' ')}`);
    if (problems.length > 0) this.fail('diff', `${what}: ${problems.join('; ')}`);
  }

  /** GET /v1/graphs/:graph: offsets, counts and the schema as of the latest offset. */
  async graphInfo(): Promise<void> {
    this.count('graphInfo');
    const res = await this.http('GET', this.base);
    if (res.status !== 200 || !isObj(res.body)) return this.fail('graphInfo', `GET ${this.base}: ${res.status} ${res.text.slice(0, 300)}`);
    const b = res.body;
    const latest = this.model.latestOffset;
    const committed = this.model.txs.filter((t) => t.outcome.status === 'committed').length;
    const want = {
      latestOffset: latest,
      materializedOffset: latest,
      counts: { transactions: this.model.txs.length, committed, aborted: this.model.txs.length - committed, liveEntities: this.model.liveIds(latest).length },
    };
    const got = { latestOffset: b['latestOffset'], materializedOffset: b['materializedOffset'], counts: b['counts'] };
    if (canonical(got) !== canonical(want)) this.fail('graphInfo', `GET ${this.base}: expected ${canonical(want)}, got ${canonical(got)}`);
    const slice = this.model.sliceAt(latest);
    const schema = isObj(b['schema']) ? b['schema'] : {};
    const wantSchema = {
      attrs: Object.fromEntries([...slice.attrDefs].map(([k, d]) => [k, { valueType: d.valueType, cardinality: d.cardinality, unique: d.unique }])),
      types: Object.fromEntries([...slice.typeDefs].map(([k, d]) => [k, { kind: d.kind, required: [...d.required].sort() }])),
    };
    const types = isObj(schema['types']) ? schema['types'] : {};
    const gotSchema = {
      attrs: schema['attrs'],
      types: Object.fromEntries(Object.entries(types).map(([k, d]) => [k, isObj(d) && Array.isArray(d['required']) ? { ...d, required: [...(d['required'] as string[])].sort() } : d])),
    };
    if (canonical(gotSchema) !== canonical(wantSchema)) this.fail('graphInfo', `GET ${this.base} schema: expected ${canonical(wantSchema)}, got ${canonical(gotSchema)}`);
  }

  /** `at=` beyond the end of the log: 400 offset_out_of_range. */
  async outOfRange(): Promise<void> {
    this.count('outOfRange');
    const at = this.model.latestOffset + 7;
    const res = await this.http('GET', `${this.base}/entities/n0?at=${at}`);
    const code = isObj(res.body) && isObj(res.body['error']) ? res.body['error']['code'] : undefined;
    if (res.status !== 400 || code !== 'offset_out_of_range') this.fail('outOfRange', `GET /entities/n0?at=${at}: ${res.status} ${res.text.slice(0, 200)}`);
  }
}

function firstSliceDifference(a: unknown, b: unknown, path = ''): string {
  if (canonical(a) === canonical(b)) return '';
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (canonical(a[k]) !== canonical(b[k])) return firstSliceDifference(a[k], b[k], `${path}.${k}`);
    }
  }
  return `${path}: got ${canonical(a) ?? 'absent'}, expected ${canonical(b) ?? 'absent'}`;
}

export type { EntityJson, TxBody };

/**
 * A readable digest of many failures: grouped by pattern (digits blanked), each pattern with its count
 * and its first full message, so one noisy disagreement cannot hide a different one.
 */
export function summarizeFailures(failures: readonly string[], patternsMax = 30): string {
  const groups = new Map<string, { count: number; first: string }>();
  for (const f of failures) {
    const pattern = f.replace(/\d+/g, '#').slice(0, 160);
    const g = groups.get(pattern);
    if (g === undefined) groups.set(pattern, { count: 1, first: f });
    else g.count++;
  }
  const lines = [...groups.values()].slice(0, patternsMax).map((g) => `(${g.count}×) ${g.first}`);
  if (groups.size > patternsMax) lines.push(`… and ${groups.size - patternsMax} more patterns`);
  return lines.join('\n');
}
