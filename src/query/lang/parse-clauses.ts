// Parses the `where` clauses of a query and their terms: patterns (type, attr, edge), predicates, not,
// or and reach. Each failure names the JSON pointer of the offending field and the reason.

import { parseValueJson } from '../../codec/json.js';
import { StrataError } from '../../core/errors.js';
import type { Limits } from '../../core/limits.js';
import type { WireValue } from '../../core/types.js';
import { PRED_OPS, type Clause, type Direction, type PredOp, type Term } from './ast.js';

export interface ParseContext {
  limits: Limits;
  /** Clauses seen so far, nested ones included. */
  clauses: number;
}

const VARIABLE = /^\?[\p{L}_][\p{L}\p{N}_.-]*$/u;
/** Characters of a variable name: names travel in every response as column names. */
const VARIABLE_CHARS_MAX = 128;

/** A well-formed variable name (the anonymous `?_` included). */
export function isVariable(s: string): boolean {
  return VARIABLE.test(s) && s.length <= VARIABLE_CHARS_MAX;
}

export function queryError(pointer: string, reason: string, extra: Record<string, unknown> = {}): StrataError {
  return new StrataError('invalid_query', `${pointer === '' ? 'query' : pointer}: ${reason}`, { pointer, reason, ...extra });
}

/** RFC 6901: `~` and `/` in a key are escaped. */
export function pointerOf(base: string, key: string | number): string {
  return `${base}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

export function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** `"?x"` a variable, `"?_"` the anonymous variable, or null when `raw` is not variable-shaped. */
function variableTerm(raw: unknown, pointer: string): Term | null {
  if (typeof raw !== 'string' || !raw.startsWith('?')) return null;
  if (raw === '?_') return { t: 'any' };
  if (!isVariable(raw)) {
    throw queryError(pointer, `${JSON.stringify(raw)} is not a variable name: ?, then a letter or _, then letters, digits, _ . - (at most ${VARIABLE_CHARS_MAX} chars); write a literal string starting with ? as {"$value": "?…"}`);
  }
  return { t: 'var', name: raw };
}

/** The escape for literals that look like variables: {"$value": <any value>}. */
function escapedLiteral(raw: unknown): { found: boolean; value?: unknown } {
  if (!isPlainObject(raw) || !Object.hasOwn(raw, '$value')) return { found: false };
  return Object.keys(raw).length === 1 ? { found: true, value: raw['$value'] } : { found: true };
}

/** A term naming an entity, a type or an edge type: a variable or a constant string. */
function nameTerm(raw: unknown, pointer: string, what: string): Term {
  const variable = variableTerm(raw, pointer);
  if (variable) return variable;
  const escaped = escapedLiteral(raw);
  const literal = escaped.found ? escaped.value : raw;
  if (typeof literal !== 'string' || literal.length === 0) throw queryError(pointer, `must be a variable or a non-empty string (${what})`);
  return { t: 'const', value: { t: 's', v: literal } };
}

function constantValue(raw: unknown, pointer: string, limits: Limits): WireValue {
  if (raw === null || raw === undefined) throw queryError(pointer, 'null is not a value; to match an absent attribute use "not"');
  try {
    return parseValueJson(raw, limits);
  } catch (err) {
    if (err instanceof StrataError) throw queryError(pointer, err.message, { cause: err.code });
    throw err;
  }
}

/** A term in value position: a variable or any published value form (typed ones included). */
function valueTerm(raw: unknown, pointer: string, limits: Limits): Term {
  const variable = variableTerm(raw, pointer);
  if (variable) return variable;
  const escaped = escapedLiteral(raw);
  if (escaped.found && !Object.hasOwn(escaped, 'value')) throw queryError(pointer, '{"$value": …} has no other keys');
  return { t: 'const', value: constantValue(escaped.found ? escaped.value : raw, pointer, limits) };
}

interface ClauseSpec {
  required: readonly string[];
  optional: readonly string[];
  noun: string;
}

const SPECS: Record<string, ClauseSpec> = {
  pred: { required: ['pred', 'args'], optional: [], noun: 'a predicate' },
  not: { required: ['not'], optional: [], noun: 'a not clause' },
  or: { required: ['or'], optional: [], noun: 'an or clause' },
  reach: { required: ['reach'], optional: [], noun: 'a reach clause' },
  edge: { required: ['edge', 'from', 'to'], optional: ['id'], noun: 'an edge pattern' },
  attr: { required: ['id', 'attr', 'value'], optional: [], noun: 'an attribute pattern' },
  type: { required: ['type', 'id'], optional: ['kind'], noun: 'a type pattern' },
};
/** The key that decides a clause's kind, in order of precedence. */
const DISCRIMINATORS = ['pred', 'not', 'or', 'reach', 'edge', 'attr', 'type'] as const;

function checkFields(raw: Record<string, unknown>, spec: ClauseSpec, pointer: string): void {
  for (const key of Object.keys(raw)) {
    if (!spec.required.includes(key) && !spec.optional.includes(key)) {
      const allowed = [...spec.required, ...spec.optional].join(', ');
      throw queryError(pointerOf(pointer, key), `unexpected field ${JSON.stringify(key)} in ${spec.noun} (fields: ${allowed})`);
    }
  }
  for (const key of spec.required) if (!Object.hasOwn(raw, key)) throw queryError(pointerOf(pointer, key), `missing: ${spec.noun} needs "${key}"`);
}

export function parseClauses(raw: unknown, pointer: string, depth: number, ctx: ParseContext): Clause[] {
  if (!Array.isArray(raw) || raw.length === 0) throw queryError(pointer, 'must be a non-empty array of clauses');
  return raw.map((item: unknown, i) => parseClause(item, `${pointer}/${i}`, depth, ctx));
}

function parseClause(raw: unknown, p: string, depth: number, ctx: ParseContext): Clause {
  if (++ctx.clauses > ctx.limits.queryClausesMax) throw queryError(p, `a query has at most ${ctx.limits.queryClausesMax} clauses`);
  if (!isPlainObject(raw)) throw queryError(p, 'a clause must be a JSON object');
  const kind = DISCRIMINATORS.find((k) => Object.hasOwn(raw, k));
  if (kind === undefined) throw queryError(p, `a clause needs one of: ${DISCRIMINATORS.join(', ')}`);
  checkFields(raw, SPECS[kind]!, p);
  const limits = ctx.limits;
  switch (kind) {
    case 'type':
      return { kind: 'type', path: p, type: nameTerm(raw['type'], `${p}/type`, 'a type'), id: nameTerm(raw['id'], `${p}/id`, 'an entity id'), entityKind: entityKind(own(raw, 'kind'), `${p}/kind`) };
    case 'attr':
      return { kind: 'attr', path: p, id: nameTerm(raw['id'], `${p}/id`, 'an entity id'), attr: attrName(raw['attr'], `${p}/attr`, limits), value: valueTerm(raw['value'], `${p}/value`, limits) };
    case 'edge':
      return {
        kind: 'edge', path: p, edgeType: nameTerm(raw['edge'], `${p}/edge`, 'an edge type'), from: nameTerm(raw['from'], `${p}/from`, 'a node id'),
        to: nameTerm(raw['to'], `${p}/to`, 'a node id'), id: raw['id'] === undefined ? { t: 'any' } : nameTerm(raw['id'], `${p}/id`, 'an edge id'),
      };
    case 'pred':
      return parsePred(raw, p, limits);
    case 'not':
      return { kind: 'not', path: p, body: parseClauses(raw['not'], `${p}/not`, nested(depth, p, ctx), ctx) };
    case 'or':
      return parseOr(raw['or'], p, nested(depth, p, ctx), ctx);
    case 'reach':
      return parseReach(raw['reach'], `${p}/reach`, p, limits);
  }
}

function nested(depth: number, pointer: string, ctx: ParseContext): number {
  if (depth + 1 > ctx.limits.queryNestingMax) throw queryError(pointer, `not / or nest at most ${ctx.limits.queryNestingMax} levels`);
  return depth + 1;
}

function entityKind(raw: unknown, pointer: string): 'node' | 'edge' | null {
  if (raw === undefined) return null;
  if (raw !== 'node' && raw !== 'edge') throw queryError(pointer, 'must be "node" or "edge"');
  return raw;
}

function attrName(raw: unknown, pointer: string, limits: Limits): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > limits.idCharsMax) {
    throw queryError(pointer, `must be an attribute name (a string of 1 to ${limits.idCharsMax} chars)`);
  }
  if (raw.startsWith('?')) throw queryError(pointer, 'attribute names are constants: variables in attribute position are not supported');
  return raw;
}

function parsePred(raw: Record<string, unknown>, p: string, limits: Limits): Clause {
  const op = raw['pred'];
  if (typeof op !== 'string' || !(PRED_OPS as readonly string[]).includes(op)) throw queryError(`${p}/pred`, `unknown predicate; use one of ${PRED_OPS.join(' ')}`);
  const args = raw['args'];
  if (!Array.isArray(args) || args.length !== 2) throw queryError(`${p}/args`, `"${op}" takes exactly two arguments`);
  if (op !== 'in') {
    return { kind: 'pred', path: p, op: op as PredOp, args: args.map((a: unknown, i) => valueTerm(a, `${p}/args/${i}`, limits)), set: null };
  }
  const set: unknown = args[1];
  if (!Array.isArray(set)) throw queryError(`${p}/args/1`, '"in" takes a variable and an array of constant values');
  const values = set.map((v: unknown, i) => constantValue(v, `${p}/args/1/${i}`, limits));
  return { kind: 'pred', path: p, op: 'in', args: [valueTerm(args[0], `${p}/args/0`, limits)], set: values };
}

function parseOr(raw: unknown, p: string, depth: number, ctx: ParseContext): Clause {
  if (!Array.isArray(raw) || raw.length === 0) throw queryError(`${p}/or`, 'must be a non-empty array of branches, each a non-empty array of clauses');
  const branches = raw.map((branch: unknown, i) => parseClauses(branch, `${p}/or/${i}`, depth, ctx));
  return { kind: 'or', path: p, branches };
}

const REACH_FIELDS = ['from', 'to', 'edge', 'direction', 'minDepth', 'maxDepth', 'depth'];

function depthField(raw: unknown, pointer: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) throw queryError(pointer, `must be an integer from ${min} to ${max}`);
  return raw;
}

function parseReach(raw: unknown, p: string, clausePath: string, limits: Limits): Clause {
  if (!isPlainObject(raw)) throw queryError(p, 'must be an object {from, edge, to, direction?, minDepth?, maxDepth?, depth?}');
  checkFields(raw, { required: ['from', 'edge', 'to'], optional: REACH_FIELDS, noun: 'reach' }, p);
  const edge = raw['edge'];
  if (typeof edge !== 'string' || edge.length === 0 || edge.startsWith('?')) throw queryError(`${p}/edge`, 'must be an edge type (a constant string)');
  const direction = own(raw, 'direction') ?? 'out';
  if (direction !== 'out' && direction !== 'in' && direction !== 'both') throw queryError(`${p}/direction`, 'must be "out", "in" or "both"');
  const maxDepth = depthField(own(raw, 'maxDepth'), `${p}/maxDepth`, 1, limits.queryReachDepthMax, limits.queryReachDepthMax);
  const minDepth = depthField(own(raw, 'minDepth'), `${p}/minDepth`, 0, maxDepth, 1);
  const depthRaw = own(raw, 'depth');
  const depth = depthRaw === undefined ? ({ t: 'any' } as Term) : variableTerm(depthRaw, `${p}/depth`);
  if (depth === null) throw queryError(`${p}/depth`, 'must be a variable');
  return {
    kind: 'reach', path: clausePath, from: nameTerm(raw['from'], `${p}/from`, 'a node id'), to: nameTerm(raw['to'], `${p}/to`, 'a node id'),
    edgeType: edge, direction: direction as Direction, minDepth, maxDepth, depth,
  };
}
