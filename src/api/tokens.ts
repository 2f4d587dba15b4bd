// Bearer tokens: the configuration format (docs/security.md), hashing at load, constant-time lookup
// and per-graph scope checks. Plaintext tokens never outlive parsing: only their SHA-256 is kept.

import { createHash, timingSafeEqual } from 'node:crypto';
import { GRAPH_NAME_PATTERN } from '../core/limits.js';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** A graph name, or `*` for every graph. */
export type GraphPattern = string;

export interface RateLimitOverride {
  /** Requests per window for this token. */
  max: number;
  windowMs: number;
}

export interface TokenEntry {
  /** Who the token belongs to; recorded as `meta.author` of every tx it publishes. */
  principal: string;
  /** SHA-256 of the token (32 bytes). */
  sha256: Buffer;
  scopes: ReadonlyMap<GraphPattern, ReadonlySet<Scope>>;
  rateLimit: RateLimitOverride | null;
}

/** Principals become `meta.author`: the same rules as meta values, kept short. */
const PRINCIPAL_CHARS_MAX = 128;
/** A token shorter than this is guessable; refuse it at load rather than in production. */
export const TOKEN_CHARS_MIN = 16;

export class TokenConfigError extends Error {}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseScopes(raw: unknown, where: string): Map<GraphPattern, Set<Scope>> {
  if (!isObject(raw)) throw new TokenConfigError(`${where}.scopes must be an object {graph | "*": ["read" | "write" | "admin", …]}`);
  const scopes = new Map<GraphPattern, Set<Scope>>();
  for (const [graph, list] of Object.entries(raw)) {
    if (graph !== '*' && !GRAPH_NAME_PATTERN.test(graph)) throw new TokenConfigError(`${where}.scopes: ${JSON.stringify(graph)} is neither a graph name nor "*"`);
    if (!Array.isArray(list) || list.some((s) => !(SCOPES as readonly unknown[]).includes(s))) {
      throw new TokenConfigError(`${where}.scopes[${JSON.stringify(graph)}] must be an array of ${SCOPES.join(', ')}`);
    }
    scopes.set(graph, new Set(list as Scope[]));
  }
  return scopes;
}

function parseHash(entry: Record<string, unknown>, where: string): Buffer {
  const { token, tokenSha256 } = entry;
  if ((token === undefined) === (tokenSha256 === undefined)) throw new TokenConfigError(`${where}: give exactly one of token (hashed at load) and tokenSha256`);
  if (typeof token === 'string') {
    if (token.length < TOKEN_CHARS_MIN) throw new TokenConfigError(`${where}.token must have at least ${TOKEN_CHARS_MIN} characters`);
    return sha256(token);
  }
  if (typeof tokenSha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(tokenSha256)) throw new TokenConfigError(`${where}.tokenSha256 must be 64 hex digits`);
  return Buffer.from(tokenSha256, 'hex');
}

function parseRateLimit(raw: unknown, where: string): RateLimitOverride | null {
  if (raw === undefined) return null;
  if (!isObject(raw) || !Number.isSafeInteger(raw['max']) || (raw['max'] as number) < 1 || !Number.isSafeInteger(raw['windowMs']) || (raw['windowMs'] as number) < 1) {
    throw new TokenConfigError(`${where}.rateLimit must be {"max": requests ≥ 1, "windowMs": ms ≥ 1}`);
  }
  return { max: raw['max'] as number, windowMs: raw['windowMs'] as number };
}

const ENTRY_FIELDS = new Set(['principal', 'name', 'token', 'tokenSha256', 'scopes', 'rateLimit']);

function parseEntry(raw: unknown, where: string): TokenEntry {
  if (!isObject(raw)) throw new TokenConfigError(`${where} must be an object`);
  for (const key of Object.keys(raw)) if (!ENTRY_FIELDS.has(key)) throw new TokenConfigError(`${where}: unknown field ${JSON.stringify(key)}`);
  const principal = raw['principal'] ?? raw['name'];
  if (typeof principal !== 'string' || principal.length === 0 || principal.length > PRINCIPAL_CHARS_MAX || /[\u0000-\u001f\u007f]/.test(principal)) {
    throw new TokenConfigError(`${where}.principal must be 1–${PRINCIPAL_CHARS_MAX} characters without control characters`);
  }
  return { principal, sha256: parseHash(raw, where), scopes: parseScopes(raw['scopes'], where), rateLimit: parseRateLimit(raw['rateLimit'], where) };
}

/** Parses the token configuration (a JSON array of entries); `source` names it in error messages. */
export function parseTokenConfig(json: unknown, source: string): TokenEntry[] {
  if (!Array.isArray(json)) throw new TokenConfigError(`${source}: the token configuration must be a JSON array`);
  const entries = json.map((raw, i) => parseEntry(raw, `${source}[${i}]`));
  const hashes = new Set(entries.map((e) => e.sha256.toString('hex')));
  if (hashes.size !== entries.length) throw new TokenConfigError(`${source}: two entries share one token`);
  return entries;
}

/**
 * The entry whose hash equals the presented token's, comparing against every entry in constant time
 * (no early exit), so response timing tells nothing about how close a guess came or which entry matched.
 */
export function findToken(entries: readonly TokenEntry[], presented: string): TokenEntry | null {
  const digest = sha256(presented);
  let found: TokenEntry | null = null;
  for (const entry of entries) {
    if (timingSafeEqual(entry.sha256, digest) && found === null) found = entry;
  }
  return found;
}

/** `admin` includes `read` and `write`; a `*` entry applies to every graph. */
export function hasScope(entry: TokenEntry, graph: string | null, scope: Scope): boolean {
  const grants = (set: ReadonlySet<Scope> | undefined) => set !== undefined && (set.has(scope) || set.has('admin'));
  return grants(entry.scopes.get('*')) || (graph !== null && grants(entry.scopes.get(graph)));
}
