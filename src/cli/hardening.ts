// Turns the hardening options of the configuration into what the server runs with: the limits
// (`--limits-file` JSON, then STRATA_LIMIT_<NAME> variables), the bearer tokens (`--tokens-file` or
// STRATA_TOKENS), and the exposure rule: without tokens, only loopback addresses unless `--insecure`.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { SecurityOptions } from '../api/auth.js';
import { parseTokenConfig, TokenConfigError, type TokenEntry } from '../api/tokens.js';
import { DEFAULT_LIMITS, type Limits } from '../core/limits.js';
import { ConfigError, type HardeningConfig } from './config.js';

const LIMIT_ENV_PREFIX = 'STRATA_LIMIT_';

/** `opsPerTxMax` → `STRATA_LIMIT_OPS_PER_TX_MAX`. */
export function limitEnvName(name: keyof Limits): string {
  return LIMIT_ENV_PREFIX + name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

function limitValue(name: string, raw: unknown, source: string): number {
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`${source}: limit ${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Limits in force: defaults < limits file < STRATA_LIMIT_* variables. Unknown names are errors. */
export function loadLimits(file: string | null, env: NodeJS.ProcessEnv): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  const names = new Set(Object.keys(DEFAULT_LIMITS));
  if (file !== null) {
    const json = readJson(file, 'limits file');
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`${file}: the limits file must hold a JSON object`);
    for (const [name, raw] of Object.entries(json)) {
      if (!names.has(name)) throw new ConfigError(`${file}: unknown limit ${JSON.stringify(name)} (docs/limits.md lists them)`);
      limits[name as keyof Limits] = limitValue(name, raw, file);
    }
  }
  const byEnv = new Map([...names].map((n) => [limitEnvName(n as keyof Limits), n as keyof Limits]));
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(LIMIT_ENV_PREFIX) || raw === undefined) continue;
    const name = byEnv.get(variable);
    if (name === undefined) throw new ConfigError(`unknown limit variable ${variable} (docs/limits.md lists them)`);
    limits[name] = limitValue(name, raw, variable);
  }
  return limits;
}

/** Tokens from `--tokens-file` or STRATA_TOKENS (not both); plaintext tokens are hashed here. */
export function loadTokens(file: string | null, env: NodeJS.ProcessEnv): TokenEntry[] {
  const inline = env['STRATA_TOKENS'];
  if (file !== null && inline !== undefined && inline !== '') throw new ConfigError('give tokens by --tokens-file or STRATA_TOKENS, not both');
  try {
    if (file !== null) return parseTokenConfig(readJson(file, 'tokens file'), file);
    if (inline === undefined || inline === '') return [];
    let json: unknown;
    try {
      json = JSON.parse(inline);
    } catch (err) {
      throw new ConfigError(`STRATA_TOKENS is not JSON: ${(err as Error).message}`);
    }
    return parseTokenConfig(json, 'STRATA_TOKENS');
  } catch (err) {
    if (err instanceof TokenConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

/** Loopback: 127.0.0.0/8, ::1, localhost. Everything else (0.0.0.0, ::, a LAN address) is exposed. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

export type Exposure = 'secured' | 'dev-loopback' | 'insecure';

/** Refuses an exposed address without tokens unless `--insecure` says so explicitly. */
export function exposure(host: string, tokens: readonly TokenEntry[], insecure: boolean): Exposure {
  if (tokens.length > 0) return 'secured';
  if (isLoopback(host)) return 'dev-loopback';
  if (insecure) return 'insecure';
  throw new ConfigError(`refusing to listen on ${host} without access control: configure tokens (--tokens-file or STRATA_TOKENS), bind a loopback address, or pass --insecure`);
}

export function securityOptions(hardening: HardeningConfig, tokens: TokenEntry[], limits: Limits): SecurityOptions {
  return { tokens, corsOrigins: hardening.corsOrigins, rateLimit: { max: limits.rateLimitRequestsMax, windowMs: limits.rateLimitWindowMs } };
}

export interface Hardening {
  limits: Limits;
  security: SecurityOptions;
  exposure: Exposure;
}

/** Everything `strata start` needs from the hardening options; throws ConfigError before anything opens. */
export function prepareHardening(config: { host: string; hardening: HardeningConfig }, env: NodeJS.ProcessEnv): Hardening {
  const limits = loadLimits(config.hardening.limitsFile, env);
  const tokens = loadTokens(config.hardening.tokensFile, env);
  return { limits, security: securityOptions(config.hardening, tokens, limits), exposure: exposure(config.host, tokens, config.hardening.insecure) };
}

/** The start-up line that says how the server is exposed (DESIGN §9: dev mode says so). */
export function exposureMessage(h: Hardening, host: string): { level: 'info' | 'warn'; message: string } {
  if (h.exposure === 'secured') return { level: 'info', message: `access control on: ${h.security.tokens.length} bearer token(s), rate limit ${h.security.rateLimit.max} requests per ${h.security.rateLimit.windowMs} ms per token` };
  if (h.exposure === 'dev-loopback') return { level: 'info', message: `dev mode: no access control (no tokens configured), bound to loopback ${host} only` };
  return { level: 'warn', message: `INSECURE: no access control on ${host} (--insecure); anyone who can reach this address can read and write every graph` };
}
