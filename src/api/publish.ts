// Turns a publish outcome into its HTTP form: 200 committed, 409 aborted, 202 pending (DESIGN §4).
// The batch route uses the same body per transaction so one client parser handles both.

import type { PublishResult } from '../core/strata-api.js';
import type { TxError } from '../core/types.js';

export type PublishBody =
  | { offset: number; status: 'committed'; time: string; duplicate?: true }
  | { offset: number; status: 'aborted'; time: string; error: TxError; duplicate?: true }
  | { offset: number; status: 'pending' };

export interface PublishReply {
  statusCode: 200 | 202 | 409;
  body: PublishBody;
}

export function publishReply(result: PublishResult): PublishReply {
  if (result.status === 'pending') return { statusCode: 202, body: { offset: result.offset, status: 'pending' } };
  const time = new Date(result.timeMs).toISOString();
  const duplicate = result.duplicate === true ? { duplicate: true as const } : {};
  if (result.status === 'committed') {
    return { statusCode: 200, body: { offset: result.offset, status: 'committed', time, ...duplicate } };
  }
  const error: TxError = { code: result.error.code, message: result.error.message, op: result.error.op };
  return { statusCode: 409, body: { offset: result.offset, status: 'aborted', time, error, ...duplicate } };
}
