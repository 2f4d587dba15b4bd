// The one error registry: stable snake_case codes, their HTTP statuses and a one-line meaning.
// docs/errors.md is checked against this table by test/api/errors-doc.test.ts; retired codes are never reused.

export const ERRORS = {
  // 400 — invalid input, nothing logged
  invalid_json: { status: 400, message: 'the request body is not valid JSON' },
  invalid_request: { status: 400, message: 'the request does not match the route schema' },
  invalid_graph_name: { status: 400, message: 'graph names match ^[a-z0-9][a-z0-9._-]{0,62}$' },
  invalid_view_name: { status: 400, message: 'view names match ^[a-z0-9][a-z0-9._-]{0,62}$' },
  invalid_op: { status: 400, message: 'an instruction is malformed or unknown' },
  invalid_value: { status: 400, message: 'a value is malformed (null, bad typed value, too large)' },
  invalid_id: { status: 400, message: 'an id is empty, too long or contains control characters' },
  invalid_offset: { status: 400, message: 'an offset or time parameter is malformed' },
  invalid_cursor: { status: 400, message: 'a listing cursor is malformed or belongs to another listing' },
  offset_out_of_range: { status: 400, message: 'the offset is beyond the end of the log or before its start' },
  invalid_query: { status: 400, message: 'the query is malformed; details.pointer names the place' },
  query_timeout: { status: 400, message: 'the query ran past its time limit; narrow it' },
  unsupported_media_type: { status: 415, message: 'the request body must be application/json' },
  // 401/403 — auth
  unauthorized: { status: 401, message: 'a bearer token is required' },
  forbidden: { status: 403, message: 'the token lacks the scope for this graph' },
  // 404
  graph_not_found: { status: 404, message: 'no graph of that name' },
  entity_not_found: { status: 404, message: 'no such entity at the basis' },
  tx_not_found: { status: 404, message: 'no transaction at that offset' },
  route_not_found: { status: 404, message: 'no such route' },
  view_not_found: { status: 404, message: 'no view of that name at the basis' },
  // 409 — the tx was aborted in the fold (the body carries the abort code in error.code)
  tx_aborted: { status: 409, message: 'the transaction was aborted' },
  // 409 — operations
  backup_target_exists: { status: 409, message: 'the backup directory exists and is not empty' },
  backup_in_progress: { status: 409, message: 'another backup is running in this process' },
  // 413 / 429
  payload_too_large: { status: 413, message: 'the body exceeds the size limit' },
  too_many_ops: { status: 413, message: 'the transaction has more ops than allowed' },
  too_many_transactions: { status: 413, message: 'the batch has more transactions than allowed' },
  too_many_graphs: { status: 429, message: 'the graph limit of this process is reached' },
  too_many_subscribers: { status: 429, message: 'the SSE client limit of this process is reached' },
  too_many_views: { status: 429, message: 'the view limit of this graph is reached' },
  rate_limited: { status: 429, message: 'too many requests' },
  diff_too_large: { status: 413, message: 'the diff span has more changes than allowed; narrow it' },
  result_too_large: { status: 413, message: 'the query result (or an intermediate join) has more rows than allowed' },
  // 503 / 504
  log_unavailable: { status: 503, message: 'the log is unavailable; retry later' },
  not_ready: { status: 503, message: 'the server is starting or shutting down' },
  basis_not_reached: { status: 504, message: 'this replica has not materialized the requested offset in time' },
  backup_failed: { status: 507, message: 'the backup could not be written (disk full, permissions); the partial copy was removed' },
  internal_error: { status: 500, message: 'an internal error; this is a bug' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error meant for the client: a registry code, a specific message and optional details. */
export class StrataError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: Record<string, unknown>,
    readonly retryAfterSeconds?: number,
  ) {
    super(message ?? ERRORS[code].message);
    this.name = 'StrataError';
    this.status = ERRORS[code].status;
  }
}
