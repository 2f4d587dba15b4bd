// Ingest side of the torture test: concurrent clients publish generated txs (single and batch), each
// tagged with a unique meta.seq, and remember what was acknowledged; the log view is read back to
// check that every acknowledgement holds.

import type { Http } from '../helpers/http.js';
import { ReferenceModel, type TxBody, type TxRecord } from '../reference/model.js';
import type { Rng, TxGenerator } from '../reference/generator.js';

/** One acknowledged publish: the offset the server gave and the outcome it reported. */
export interface Ack {
  seq: string;
  body: TxBody;
  offset: number;
  /** `pending` = durable on the log, outcome not known within the wait. */
  status: 'committed' | 'aborted' | 'pending';
  code: string | undefined;
  duplicate: boolean;
}

export interface Ingest {
  nextSeq: number;
  bySeq: Map<string, TxBody>;
  acks: Ack[];
  /** Publishes that got no acknowledgement (connection reset by the kill, 5xx, timeout). */
  unacknowledged: number;
  /** Acks [0, verified) were checked after a restart already. */
  verified: number;
}

export interface LogEntry {
  offset: number;
  seq: string | undefined;
  id: string | null;
  status: string;
  code: string | undefined;
}

const CLIENTS = 3;
const BATCH_CHANCE = 0.2;

function tag(gen: TxGenerator, ingest: Ingest): { seq: string; body: TxBody } {
  const seq = `s${ingest.nextSeq++}`;
  const generated = gen.next().body;
  const body: TxBody = { ...generated, meta: { ...(generated.meta ?? {}), seq } };
  ingest.bySeq.set(seq, body);
  return { seq, body };
}

interface Reply {
  offset?: number;
  status?: 'committed' | 'aborted' | 'pending';
  duplicate?: boolean;
  error?: { code?: string };
}

function record(ingest: Ingest, seq: string, body: TxBody, reply: Reply): void {
  if (typeof reply.offset !== 'number' || reply.status === undefined) {
    ingest.unacknowledged++;
    return;
  }
  ingest.acks.push({ seq, body, offset: reply.offset, status: reply.status, code: reply.error?.code, duplicate: reply.duplicate === true });
}

/** Publishes one tx, or a batch of 2–6, and records the acknowledgements. */
async function publishOnce(http: Http, graph: string, gen: TxGenerator, ingest: Ingest, rng: Rng): Promise<void> {
  const batch = rng.chance(BATCH_CHANCE) ? Array.from({ length: 2 + rng.int(5) }, () => tag(gen, ingest)) : [tag(gen, ingest)];
  try {
    if (batch.length === 1) {
      const res = await http('POST', `/v1/graphs/${graph}/transactions`, batch[0]!.body);
      if ([200, 202, 409].includes(res.status)) record(ingest, batch[0]!.seq, batch[0]!.body, res.body as Reply);
      else ingest.unacknowledged++;
      return;
    }
    const res = await http('POST', `/v1/graphs/${graph}/transactions:batch`, { transactions: batch.map((b) => b.body) });
    const results = (res.body as { results?: Reply[] } | undefined)?.results;
    if (res.status !== 200 || !Array.isArray(results)) {
      ingest.unacknowledged += batch.length;
      return;
    }
    batch.forEach((b, i) => record(ingest, b.seq, b.body, results[i] ?? {}));
  } catch {
    ingest.unacknowledged += batch.length;
    await new Promise((r) => setTimeout(r, 20)); // the server is down: do not spin
  }
}

/** Runs the clients until `stopped()`; with `bootstrapFirst` the generator's schema tx lands alone first. */
export async function publishWhile(http: Http, graph: string, gen: TxGenerator, ingest: Ingest, rng: Rng, stopped: () => boolean, bootstrapFirst: boolean): Promise<void> {
  if (bootstrapFirst) {
    const { seq, body } = tag(gen, ingest);
    const res = await http('POST', `/v1/graphs/${graph}/transactions`, body);
    record(ingest, seq, body, res.body as Reply);
  }
  const client = async () => {
    while (!stopped()) await publishOnce(http, graph, gen, ingest, rng);
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
}

/** The whole log view of a graph, in offset order. */
export async function readLog(http: Http, graph: string): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for (let from = 0; ; ) {
    const res = await http('GET', `/v1/graphs/${graph}/transactions?from=${from}&limit=1000`);
    if (res.status === 404) return out; // no graph yet (killed before the first publish)
    if (res.status !== 200) throw new Error(`GET /transactions?from=${from}: ${res.status} ${res.text.slice(0, 300)}`);
    const body = res.body as { items: { offset: number; id: string | null; status: string; meta?: Record<string, string>; error?: { code: string } }[]; next: number | null };
    for (const item of body.items) out.push({ offset: item.offset, seq: item.meta?.['seq'], id: item.id, status: item.status, code: item.error?.code });
    if (body.next === null || body.items.length === 0) return out;
    from = body.next;
  }
}

/** Checks the acks not yet verified (all of them with `all`) against the log; returns the problems. */
/**
 * The reference fold of a log this test wrote, each entry's body found by its meta.seq. Stops, with a
 * problem, at an entry the test did not send or a gap; `each` sees every entry with its reference record.
 */
export function foldSentLog<E extends { offset: number; seq?: string | undefined }>(
  log: readonly E[],
  bySeq: ReadonlyMap<string, TxBody>,
  problems: string[],
  each: (entry: E, rec: TxRecord, i: number) => void = () => undefined,
): ReferenceModel {
  const model = new ReferenceModel();
  for (const [i, entry] of log.entries()) {
    const body = entry.seq === undefined ? undefined : bySeq.get(entry.seq);
    if (entry.offset !== i || body === undefined) {
      problems.push(`log entry ${i}: offset ${entry.offset}, seq ${entry.seq}: not a tx this test sent (or a gap)`);
      break;
    }
    each(entry, model.publish(body), i);
  }
  return model;
}

export function checkAcks(ingest: Ingest, log: LogEntry[], label: string, all: boolean): string[] {
  const problems: string[] = [];
  for (const a of ingest.acks.slice(all ? 0 : ingest.verified)) {
    const entry = log[a.offset];
    if (entry === undefined || entry.offset !== a.offset) {
      problems.push(`${label}: acknowledged offset ${a.offset} (${a.seq}) is not on the log (log ends at ${log.length - 1})`);
    } else if (a.duplicate) {
      if (entry.status !== 'committed' || entry.id !== (a.body.id ?? null)) problems.push(`${label}: duplicate ack of ${a.seq} names offset ${a.offset}, which holds ${JSON.stringify(entry)}`);
    } else if (entry.seq !== a.seq) {
      problems.push(`${label}: offset ${a.offset} was acknowledged for ${a.seq} but holds ${entry.seq}`);
    } else if (a.status !== 'pending' && (entry.status !== a.status || entry.code !== a.code)) {
      problems.push(`${label}: offset ${a.offset} (${a.seq}) acknowledged ${a.status} ${a.code ?? ''}, now ${entry.status} ${entry.code ?? ''}`);
    }
  }
  ingest.verified = ingest.acks.length;
  return problems;
}
