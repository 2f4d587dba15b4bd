// Seeded generators of hostile HTTP requests for the fuzz test: paths with bad graph names, ids and
// offsets; query strings; headers and content types; malformed, huge, deeply nested and prototype-
// poisoning JSON; invalid UTF-8; and transactions that each carry at least one static defect (so no
// generated publish is valid: the graph must not change).

import type { Rng } from '../reference/generator.js';

export interface FuzzRequest {
  kind: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND', 'TRACE'];
const GRAPHS = ['fuzz', 'fuzz', 'fuzz', 'Bad', '', '..', '.hidden', '-x', 'a'.repeat(64), 'x y', '%00', '%2F', 'g%2Fh', '%C3%BC', '%FF', '%', 'fuzz%00', 'ni\u00f1o'];
const IDS = [
  'n1', 'e1', 'missing', '%00', '%0A', '%7F', '%E2%82', '%FF%FE', '%', '%%', '%zz', 'a%2Fb', '..%2F..%2Fetc%2Fpasswd', '\u{1F600}', '%F0%9F%98',
  'x'.repeat(257), 'y'.repeat(4000), '%C0%AF', '%ED%A0%80', ' ', '%20', '__proto__', 'constructor', 'prototype',
];
const VIEW_NAMES = ['v', 'missing', '', 'A', 'x'.repeat(300), '%00', '..', '%2F', 'v%20w', '__proto__'];
const OFFSETS = ['-1', 'abc', '1e3', '99999999999999999999', '0x10', '1.5', '', 'NaN', '-0', '+1', '00', '9007199254740993', '1%00', ' 1', 'Infinity', '100000'];
const QUERY_KEYS = ['at', 'asOf', 'minBasis', 'from', 'to', 'limit', 'cursor', 'where', 'type', 'id', 'types', 'ids', 'attrs', 'wait', 'timeout', 'bogus', '__proto__', 'constructor', 'a[b]', 'at[]', '', '%00'];
const QUERY_VALUES = [
  ...OFFSETS, '2024-01-01T00:00:00Z', 'yesterday', '2024-13-45T99:99:99Z', 'true', 'false', 'maybe', 'T', 'status:open', ':', 'a:', ':b', 'x:{"$long":"1"}',
  'eyJiYXNpcyI6MH0', 'not-base64!!', '%FF', '%00', 'a'.repeat(70_000), '{}', '[]', 'null', ',,,', 'a,b,,c',
];
const CONTENT_TYPES = [
  'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/jsonx',
  ';;;', 'application/*', 'text/event-stream', 'application/octet-stream', 'APPLICATION/JSON', 'application/json, text/plain',
];
const HEADER_NAMES = ['accept', 'last-event-id', 'authorization', 'x-forwarded-for', 'accept-encoding', 'content-encoding', 'origin', 'cookie', 'range', 'if-none-match', 'expect'];
const HEADER_VALUES = ['*/*', 'text/event-stream', 'abc', '-1', '99999999999999999999', 'Bearer x', 'Basic Zm9vOmJhcg==', 'gzip', 'br', 'identity', 'bytes=0-1', 'x'.repeat(8000), '"etag"', '100-continue', '1.2.3.4, ::1', 'null'];

const ROUTES: ((g: string, rng: Rng) => string)[] = [
  () => '/v1/graphs',
  (g) => `/v1/graphs/${g}`,
  (g) => `/v1/graphs/${g}/transactions`,
  (g) => `/v1/graphs/${g}/transactions:batch`,
  (g, rng) => `/v1/graphs/${g}/transactions/${rng.pick(OFFSETS)}`,
  (g) => `/v1/graphs/${g}/entities`,
  (g, rng) => `/v1/graphs/${g}/entities/${rng.pick(IDS)}`,
  (g, rng) => `/v1/graphs/${g}/entities/${rng.pick(IDS)}/history`,
  (g) => `/v1/graphs/${g}/diff`,
  (g) => `/v1/graphs/${g}/query`,
  (g) => `/v1/graphs/${g}/events`,
  (g) => `/v1/graphs/${g}/checksum`,
  (g) => `/v1/graphs/${g}/views`,
  (g, rng) => `/v1/graphs/${g}/views/${rng.pick(VIEW_NAMES)}`,
  (g, rng) => `/v1/graphs/${g}/views/${rng.pick(VIEW_NAMES)}/rows`,
  (g, rng) => `/v1/graphs/${g}/views/${rng.pick(VIEW_NAMES)}/events`,
  () => '/metrics',
  () => '/healthz',
  () => '/readyz',
  () => '/docs',
  (_g, rng) => rng.pick(JUNK_PATHS),
];
const JUNK_PATHS = ['/', '//', '/v2/graphs', '/v1', '/v1/', '/v1/graphs/', '/../../etc/passwd', '/v1/graphs/fuzz/../../metrics', '/%', '/%zz', '/%C0%AF', `/${'a'.repeat(10_000)}`, '/v1/graphs/fuzz/entities/', '/v1/graphs/fuzz//entities', '/?', '/#frag', '/v1/graphs/fuzz/transactions::batch'];

function queryString(rng: Rng): string {
  const n = rng.int(4);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const value = rng.pick(QUERY_VALUES);
    parts.push(`${rng.pick(QUERY_KEYS)}=${rng.chance(0.7) ? encodeURIComponent(value) : value}`);
  }
  if (rng.chance(0.05)) parts.push('&&&=&');
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

/** A random JSON value, depth-bounded, with hostile keys now and then. */
export function randomJson(rng: Rng, depth = 0): unknown {
  const r = rng.int(depth > 3 ? 6 : 9);
  switch (r) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.pick([0, -1, 1.5, 1e308, -1e-308, 2 ** 53 + 1, 123456789012345678901234567890]);
    case 3: return rng.pick(['', 'x', '\u0000', '\ud800', 'é', '\u{1F600}', 'a'.repeat(300)]);
    case 4: return { $long: rng.pick(['1', 'abc', '99999999999999999999', '']) };
    case 5: return rng.pick([{ $instant: 'nope' }, { $bytes: '***' }, { $double: 'x' }, { $unknown: 1 }]);
    case 6: return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) o[rng.pick(['op', 'id', 'ops', 'meta', 'value', 'type', 'attr', 'a', '__proto__', 'constructor', 'prototype', ''])] = randomJson(rng, depth + 1);
      return o;
    }
  }
}

/** A tx that looks plausible but carries one of many static defects (never a state-dependent one). */
export function defectiveTx(rng: Rng): unknown {
  const ok = () => ({ op: 'create', id: `f${rng.int(1e6)}`, type: 'T' });
  const ops: unknown[] = Array.from({ length: rng.int(3) }, ok);
  const defects: (() => unknown)[] = [
    () => ({ ops: [...ops, { op: rng.pick(['bogus', 'Create', '', 'drop', '__proto__']), id: 'x' }] }),
    () => ({ ops: [...ops, { op: 'set', id: 'n1', attr: 'a', value: null }] }),
    () => ({ ops: [...ops, { op: 'create', id: 'i'.repeat(257), type: 'T' }] }),
    () => ({ ops: [...ops, { op: 'create', id: `a${rng.pick(['\u0000', '\n', '\u007f', '\u009f', '\ud800'])}b`, type: 'T' }] }),
    () => ({ ops, [rng.pick(['extra', '__proto__x', 'Ops', 'op'])]: 1 }),
    () => ({ meta: { author: rng.pick([1, true, null, {}, []]) }, ops: [ok()] }),
    () => ({ meta: rng.pick(['x', [], 1, true]), ops: [ok()] }), // null meta means "no meta", like an absent one
    () => ({ ops: [] }),
    () => ({ ops: rng.pick([{}, 'create', 1, null, true]) }),
    () => ({ ops: [...ops, { op: 'create', id: 'x' }] }),
    () => ({ ops: [...ops, { op: 'link', id: 'l', type: 'E', to: 'n1' }] }),
    () => ({ ops: [...ops, { op: 'set', id: 'n1', attr: 'a', value: rng.pick([{ $long: 'abc' }, { $instant: 'never' }, { $bytes: '!!!' }, { $long: '99999999999999999999' }]) }] }),
    () => ({ ops: [...ops, { op: 'defineAttr', attr: 'a', valueType: rng.pick(['float', 'String', '', 'uuid']), cardinality: 'one', unique: false }] }),
    () => ({ ops: [...ops, { op: 'defineAttr', attr: 'a', valueType: 'string', cardinality: rng.pick(['several', '', 'ONE']), unique: false }] }),
    () => ({ ops: [...ops, { op: 'defineType', type: 'T', kind: rng.pick(['vertex', '', 'Node']), required: [] }] }),
    () => ({ id: rng.pick(['k'.repeat(129), 12, true, {}, '']), ops: [ok()] }),
    () => ({ ops: [...ops, { op: 'set', id: 'n1', attr: '', value: 1 }] }),
    () => ({ ops: [...ops, { op: 'set', id: 'n1', attr: 'a', value: 'v'.repeat(64 * 1024 + 1) }] }),
    () => ({ ops: [...ops, { op: 'expect', id: 'n1', attr: 'a' }] }),
    () => ({ ops: [...ops, { op: 'terminate', id: 'n1', extra: true }] }),
    () => ({ meta: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'])), ops: [ok()] }),
    () => ({ ops: Array.from({ length: 10_001 }, (_, i) => ({ op: 'create', id: `z${i}`, type: 'T' })) }),
  ];
  return rng.pick(defects)();
}

const PROTO_BODIES = [
  '{"__proto__":{"polluted":1},"ops":[{"op":"create","id":"p1","type":"T"}]}',
  '{"constructor":{"prototype":{"polluted":1}},"ops":[{"op":"create","id":"p2","type":"T"}]}',
  '{"ops":[{"op":"create","id":"p3","type":"T","__proto__":{"x":1}}]}',
  '{"meta":{"__proto__":"x"},"ops":[{"op":"create","id":"p4","type":"T"}]}',
  '{"find":["?x"],"where":[{"type":"T","id":"?x"}],"__proto__":{"x":1}}',
  '{"transactions":[{"__proto__":{"ops":[]}}]}',
];

function deepJson(rng: Rng): string {
  const depth = rng.pick([100, 1_000, 10_000, 100_000, 500_000]);
  const inner = rng.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  return rng.pick([
    inner,
    `{"ops":${inner}}`,
    `{"ops":[{"op":"set","id":"n1","attr":"j","value":${inner}}]}`,
    `{"ops":[{"op":"create","id":"d","type":"T"}],"meta":${inner}}`,
    `{"find":["?x"],"where":${inner}}`,
    `{"transactions":${inner}}`,
  ]);
}

function invalidUtf8(rng: Rng): Buffer {
  const bad = rng.pick([[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80]]);
  const [head, tail] = rng.pick([
    ['{"ops":[{"op":"create","id":"', '","type":"T"}],"bogus":1}'],
    ['{"ops":[{"op":"create","id":"u","type":"T"},{"op":"set","id":"u","attr":"a","value":"', '"},{"op":"nope"}]}'],
    ['{"meta":{"a":"', '"},"ops":[]}'],
    ['{"', '":1}'],
    ['', ''],
  ]);
  return Buffer.concat([Buffer.from(head!), Buffer.from(bad), Buffer.from(tail!)]);
}

function malformedJson(rng: Rng): string {
  const valid = JSON.stringify({ ops: [{ op: 'create', id: 'm', type: 'T' }] });
  return rng.pick([
    valid.slice(0, rng.int(valid.length)),
    '{', '[', '{"a":}', 'nul', '1', '"str"', 'true', 'null', '[]', '{}', '\ufeff{"ops":[]}', '{"ops":[NaN]}', '{"ops":[1,]}', '{"ops":/*c*/[]}',
    "{'ops':[]}", '{"ops":[{"op":"create","id":"m","type":"T"}]}}', '', ' ', '\u0000', `{"ops":[${'1,'.repeat(100)}1]}`,
  ]);
}

function body(rng: Rng): { payload: string | Buffer; kind: string } {
  const r = rng.int(100);
  if (r < 30) return { payload: JSON.stringify(defectiveTx(rng)), kind: 'defective-tx' };
  if (r < 40) return { payload: JSON.stringify({ transactions: Array.from({ length: 1 + rng.int(3) }, () => defectiveTx(rng)) }), kind: 'defective-batch' };
  if (r < 52) return { payload: malformedJson(rng), kind: 'malformed-json' };
  if (r < 60) return { payload: invalidUtf8(rng), kind: 'invalid-utf8' };
  if (r < 66) return { payload: rng.pick(PROTO_BODIES), kind: 'proto-keys' };
  if (r < 70) return { payload: deepJson(rng), kind: 'deep-json' };
  if (r < 72) return { payload: rng.chance(0.5) ? 'a'.repeat(2 * 1024 * 1024) : `{"ops":[{"op":"set","id":"n1","attr":"a","value":"${'b'.repeat(1024 * 1024)}"}]}`, kind: 'huge' };
  return { payload: JSON.stringify(randomJson(rng)), kind: 'random-json' };
}

/** One hostile request. */
export function fuzzRequest(rng: Rng): FuzzRequest {
  const route = rng.pick(ROUTES);
  const method = rng.pick(METHODS);
  const url = route(rng.pick(GRAPHS), rng) + queryString(rng);
  const headers: Record<string, string> = {};
  for (let i = rng.int(3); i > 0; i--) headers[rng.pick(HEADER_NAMES)] = rng.pick(HEADER_VALUES);
  const withBody = method !== 'GET' && method !== 'HEAD' ? rng.chance(0.9) : rng.chance(0.05);
  if (!withBody) return { kind: 'no-body', method, url, headers };
  const { payload, kind } = body(rng);
  headers['content-type'] = rng.chance(0.75) ? 'application/json' : rng.pick(CONTENT_TYPES);
  return { kind, method, url, headers, payload };
}

/** Publishes aimed squarely at the publish routes of the existing graph, so the deep checks get exercised. */
export function publishRequest(rng: Rng): FuzzRequest {
  const batch = rng.chance(0.3);
  const { payload, kind } = rng.chance(0.7) ? { payload: JSON.stringify(batch ? { transactions: [defectiveTx(rng)] } : defectiveTx(rng)), kind: batch ? 'defective-batch' : 'defective-tx' } : body(rng);
  return { kind, method: 'POST', url: `/v1/graphs/fuzz/transactions${batch ? ':batch' : ''}${rng.chance(0.2) ? queryString(rng) : ''}`, headers: { 'content-type': 'application/json' }, payload };
}

const READ_ROUTES = ['views', 'views/v', 'views/v/rows', 'entities', 'entities/n1', 'entities/e1', 'entities/n1/history', 'diff', 'transactions', 'transactions/0', 'checksum', 'events', ''];
const READ_KEYS = ['at', 'asOf', 'minBasis', 'from', 'to', 'limit', 'cursor', 'where', 'type', 'id', 'types', 'ids', 'attrs'];
const READ_VALUES = [...OFFSETS, '0', '0', '1', '-1', '2', '1000', '2024-01-01T00:00:00Z', '2999-01-01T00:00:00Z', 'T', 'a:x', 'a:"x"', 'a:1', 'a:{', 'n1', 'e1', 'eyJ4IjoxfQ', 'x'.repeat(300)];

/** Reads of the existing graph with random (often valid) parameters: these reach the handlers. */
export function readRequest(rng: Rng): FuzzRequest {
  const parts = Array.from({ length: rng.int(4) }, () => `${rng.pick(READ_KEYS)}=${encodeURIComponent(rng.pick(READ_VALUES))}`);
  const headers: Record<string, string> = rng.chance(0.1) ? { 'last-event-id': rng.pick(['0', '-1', 'x', '99999']) } : {};
  const path = rng.pick(READ_ROUTES);
  return { kind: 'read', method: 'GET', url: `/v1/graphs/fuzz${path === '' ? '' : `/${path}`}${parts.length > 0 ? `?${parts.join('&')}` : ''}`, headers };
}
