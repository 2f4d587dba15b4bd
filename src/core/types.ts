// Domain types shared by every layer: typed values, instructions, transactions, changes and reports.
// These are the normalized, in-memory forms; JSON (HTTP) and Avro (log) forms are converted at the edges.

/**
 * A typed value. `n` is any number that fits a JS double exactly (integers up to 2^53 included);
 * `l` is a 64-bit integer beyond that range, kept as a decimal string so nothing is lost.
 */
export type Value =
  | { t: 's'; v: string }
  | { t: 'n'; v: number }
  | { t: 'l'; v: string }
  | { t: 'b'; v: boolean }
  | { t: 'i'; v: number } // instant, epoch milliseconds
  | { t: 'y'; v: string } // bytes, base64
  | { t: 'j'; v: string }; // json, canonical JSON text (sorted keys)

/** What a transaction's ops carry before the schema in force decides how to store them. */
export type WireValue =
  | { t: 's'; v: string }
  | { t: 'n'; v: number } // JSON number that is not a safe integer, or an Avro double
  | { t: 'l'; v: string } // integer: JSON safe integer, $long, Avro long (decimal string)
  | { t: 'b'; v: boolean }
  | { t: 'i'; v: number }
  | { t: 'y'; v: string }
  | { t: 'j'; v: string }; // JSON array/object, canonical text

export const VALUE_TYPES = ['string', 'long', 'double', 'boolean', 'instant', 'bytes', 'json'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
export type Cardinality = 'one' | 'many';

export interface AttrDefinition {
  valueType: ValueType;
  cardinality: Cardinality;
  unique: boolean;
}

export interface TypeDefinition {
  kind: 'node' | 'edge';
  required: string[];
}

/** A materialized view (DESIGN §6): a query registered as data. `query` is its canonical JSON text. */
export interface ViewDefinition {
  query: string;
}

export type Op =
  | { op: 'create'; id: string; type: string }
  | { op: 'link'; id: string; type: string; from: string; to: string }
  | { op: 'set'; id: string; attr: string; value: WireValue }
  | { op: 'unset'; id: string; attr: string }
  | { op: 'add'; id: string; attr: string; value: WireValue }
  | { op: 'retract'; id: string; attr: string; value: WireValue }
  | { op: 'expect'; id: string; attr: string; value: WireValue | WireValue[] | null }
  | { op: 'terminate'; id: string }
  | { op: 'defineAttr'; attr: string; valueType: ValueType; cardinality: Cardinality; unique: boolean }
  | { op: 'defineType'; type: string; kind: 'node' | 'edge'; required: string[] }
  | { op: 'defineView'; name: string; query: string } // query: canonical JSON text of the query object
  | { op: 'retireView'; name: string };

export type OpName = Op['op'];

/** A transaction as published: what travels on the log (Avro `Transaction`). */
export interface TxInput {
  id: string | null;
  meta: Record<string, string>;
  ops: Op[];
}

/** A record read back from a log: the decoded transaction (or a decode failure) at an offset. */
export interface TxEnvelope {
  offset: number;
  /** The log record's own timestamp (ms since epoch). */
  timestampMs: number;
  tx: TxInput | null;
  /** Set when the record could not be decoded: it becomes an `invalid_record` abort. */
  decodeError?: string;
}

/**
 * A net change, in the shapes of DESIGN.md §4. Values stay typed here; `codec/json.ts` turns a change
 * into its JSON form at the API edge.
 */
export type Change =
  | { kind: 'created'; id: string; type: string; entity: 'node' }
  | { kind: 'created'; id: string; type: string; entity: 'edge'; from: string; to: string }
  | { kind: 'terminated'; id: string }
  | { kind: 'set'; id: string; attr: string; old: Value | null; new: Value | null }
  | { kind: 'added' | 'retracted'; id: string; attr: string; value: Value }
  | { kind: 'schema'; attr: string; definition: AttrDefinition | null }
  | { kind: 'schema'; type: string; definition: TypeDefinition | null }
  | { kind: 'schema'; view: string; definition: ViewDefinition | null };

export type AbortCode =
  | 'entity_exists'
  | 'entity_not_found'
  | 'entity_terminated'
  | 'type_mismatch'
  | 'cardinality_mismatch'
  | 'unique_conflict'
  | 'precondition_failed'
  | 'required_missing'
  | 'schema_conflict'
  | 'duplicate_tx'
  | 'invalid_record';

export interface TxError {
  code: AbortCode;
  message: string;
  /** 0-based index of the failing op; null when no single op is at fault (invalid_record). */
  op: number | null;
}

export type TxStatus = 'committed' | 'aborted';

/** The outcome of one transaction: stored in the tx index and streamed to subscribers. */
export interface TxReport {
  offset: number;
  /** Tx time, ms since epoch: max(previous tx time, record timestamp). */
  timeMs: number;
  status: TxStatus;
  id: string | null;
  meta: Record<string, string>;
  ops: Op[];
  error?: TxError;
  /** For a duplicate_tx abort: the offset at which the key first committed. */
  originalOffset?: number;
  changes: Change[];
}
