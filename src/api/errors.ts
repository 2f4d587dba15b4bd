// Maps every failure (StrataError, fastify's own errors, schema validation, log outages, bugs) onto the
// one error shape `{"error":{"code","message","details"}}` with the status of the registry (core/errors.ts).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, StrataError, type ErrorCode } from '../core/errors.js';
import { LogUnavailableError } from '../broker-adapters/types.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: Record<string, unknown> };
}

export interface HttpFailure {
  status: number;
  body: ErrorBody;
  retryAfterSeconds?: number;
  /** True for a bug: logged at error level, and the client learns nothing about its cause. */
  internal: boolean;
}

export function errorBody(code: ErrorCode, message?: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message: message ?? ERRORS[code].message, details } };
}

function failure(code: ErrorCode, message?: string, details?: Record<string, unknown>): HttpFailure {
  return { status: ERRORS[code].status, body: errorBody(code, message, details), internal: false };
}

/** One ajv error as fastify hands it over (its exact type differs between fastify and ajv). */
interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Query and path fields that hold offsets or tx times: their failures are `invalid_offset`. */
const OFFSET_FIELDS = new Set(['at', 'asOf', 'minBasis', 'from', 'to', 'offset']);

function validationCode(context: string, field: string, keyword: string): ErrorCode {
  // A missing or unexpected parameter is a malformed request, whatever the parameter's name.
  if (keyword === 'required' || keyword === 'additionalProperties') return 'invalid_request';
  if (context === 'params' && field === 'graph') return 'invalid_graph_name';
  if (context === 'params' && field === 'name') return 'invalid_view_name';
  if ((context === 'params' || context === 'querystring') && OFFSET_FIELDS.has(field)) return 'invalid_offset';
  if (context === 'querystring' && field === 'cursor') return 'invalid_cursor';
  if ((context === 'params' || context === 'querystring') && field === 'id') return 'invalid_id';
  return 'invalid_request';
}

/** Turns the first schema violation into a registry code, naming the field in `details`. */
function fromValidation(issues: ValidationIssue[], context: string): HttpFailure {
  const issue = issues[0];
  if (issue === undefined) return failure('invalid_request');
  const pathField = issue.instancePath.split('/')[1];
  const param = issue.params['missingProperty'] ?? issue.params['additionalProperty'];
  const field = pathField !== undefined && pathField !== '' ? pathField : typeof param === 'string' ? param : '';
  const code = validationCode(context, field, issue.keyword);
  const where = field === '' ? context : `${context}.${field}`;
  const extra = issue.keyword === 'additionalProperties' ? ` (${String(param)})` : '';
  const message = code === 'invalid_request' ? `${where} ${issue.message ?? 'is invalid'}${extra}` : undefined;
  return failure(code, message, { in: context, field, rule: issue.keyword, reason: issue.message ?? null });
}

/** fastify's own error codes (content-type parsing, routing) and what they mean to a client. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_BAD_URL: 'invalid_request',
  FST_ERR_NOT_FOUND: 'route_not_found',
};

interface FastifyishError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

export function toHttpFailure(err: unknown): HttpFailure {
  if (err instanceof StrataError) {
    return { status: err.status, body: errorBody(err.code, err.message, err.details ?? {}), retryAfterSeconds: err.retryAfterSeconds, internal: false };
  }
  if (err instanceof LogUnavailableError) {
    return { ...failure('log_unavailable', err.message), retryAfterSeconds: err.retryAfterSeconds };
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as FastifyishError;
  if (Array.isArray(e.validation)) return fromValidation(e.validation as ValidationIssue[], String(e.validationContext ?? ''));
  const code = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  // The registry's message keeps replies uniform; fastify's own wording goes to details.
  if (code !== undefined) return failure(code, undefined, { reason: typeof e.message === 'string' ? e.message : null });
  // Any other client error fastify raises before our handler runs is still the client's fault.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 && typeof e.code === 'string') {
    return failure('invalid_request', typeof e.message === 'string' ? e.message : undefined, { cause: e.code });
  }
  return { ...failure('internal_error'), internal: true };
}

/**
 * Replies with a 4xx directly, as the error handler does for a thrown StrataError of that code (same
 * status, headers and body; 4xx are not logged), without an Error object: its stack trace and the
 * framework's error path cost more than a hot read, and an entity absent at the basis is an everyday answer.
 */
export function sendClientError(reply: FastifyReply, code: ErrorCode, message: string, details: Record<string, unknown>): FastifyReply {
  return sendFailure(reply, failure(code, message, details));
}

export function sendFailure(reply: FastifyReply, f: HttpFailure): FastifyReply {
  if (f.retryAfterSeconds !== undefined) reply.header('Retry-After', String(Math.max(0, Math.ceil(f.retryAfterSeconds))));
  return reply.code(f.status).type('application/json; charset=utf-8').send(f.body);
}

/** fastify answers some errors (a URL that does not decode) before routing, outside the error handler. */
export function frameworkErrorHandler(err: unknown, _request: FastifyRequest, reply: FastifyReply): void {
  sendFailure(reply, toHttpFailure(err));
}

/** Installs the root error and not-found handlers; child plugins inherit them. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const f = toHttpFailure(err);
    if (f.internal) request.log.error({ err }, 'internal error');
    else if (f.status >= 500) request.log.warn({ err }, 'request failed');
    return sendFailure(reply, f);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    return sendFailure(reply, failure('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
