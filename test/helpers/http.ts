// One small HTTP surface for the contract tests: the same probes run through fastify's inject() (no
// socket) in the differential test and through real sockets (fetch) against a child process in the crash test.

import type { FastifyInstance } from 'fastify';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>;
  /** The parsed JSON body (undefined when the body is empty or not JSON). */
  body: unknown;
  text: string;
}

export type Http = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) => Promise<HttpResponse>;

function parse(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function injectHttp(app: FastifyInstance): Http {
  return async (method, url, body) => {
    const res = await app.inject({
      method,
      url,
      ...(body === undefined ? {} : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v === undefined ? undefined : String(v);
    return { status: res.statusCode, headers, body: parse(res.body), text: res.body };
  };
}

export function fetchHttp(baseUrl: string, timeoutMs = 15_000): Http {
  return async (method, url, body) => {
    const res = await fetch(baseUrl + url, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    const headers: Record<string, string | undefined> = {};
    res.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
    return { status: res.status, headers, body: parse(text), text };
  };
}
