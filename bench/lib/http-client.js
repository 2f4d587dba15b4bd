// A minimal HTTP/1.1 keep-alive GET client for read benchmarks. The client shares the machine's cores
// with the server, so every microsecond it spends per request is taken from the figure it measures:
// undici spends ~70-100 µs of CPU per request here, this ~10-20 µs. It does what a read benchmark
// needs and nothing else: one request in flight per connection (no pipelining), the status line and
// Content-Length parsed, the body received in full and discarded (as undici's `body.dump()` does).
// Anything it does not handle (chunked bodies, a closed connection, a parse error) fails the run
// loudly rather than being counted.

import { connect } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');

class Connection {
  constructor(socket, hostHeader) {
    this.socket = socket;
    this.hostHeader = hostHeader;
    this.pending = null; // { resolve, reject, path }
    this.buf = null; // bytes of the current response received so far
    this.bodyStart = -1;
    this.bodyLength = -1;
    this.status = 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  /** Sends one GET; resolves with the status code once the whole response has arrived. */
  get(path) {
    if (this.pending !== null) throw new Error('one request at a time per connection');
    if (this.socket.destroyed) throw this.error ?? new Error('connection closed');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, path };
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n\r\n`, 'latin1');
    });
  }

  onData(chunk) {
    if (this.pending === null) return this.fail(new Error('unexpected bytes with no request in flight'));
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.bodyStart < 0) {
      const end = this.buf.indexOf(HEADER_END);
      if (end < 0) return;
      const head = this.buf.latin1Slice(0, end).toLowerCase();
      this.status = Number(head.slice(9, 12));
      const at = head.indexOf('\r\ncontent-length:');
      if (!head.startsWith('http/1.1 ') || !(this.status >= 100) || at < 0) {
        return this.fail(new Error(`GET ${this.pending.path}: unsupported response head ${JSON.stringify(head.slice(0, 200))}`));
      }
      this.bodyLength = Number.parseInt(head.slice(at + 17, head.indexOf('\r\n', at + 17) >>> 0), 10);
      if (!(this.bodyLength >= 0)) return this.fail(new Error(`GET ${this.pending.path}: bad content-length`));
      this.bodyStart = end + 4;
    }
    const received = this.buf.length - this.bodyStart;
    if (received < this.bodyLength) return;
    if (received > this.bodyLength) return this.fail(new Error(`GET ${this.pending.path}: more bytes than content-length`));
    const { resolve } = this.pending;
    const status = this.status;
    this.pending = null;
    this.buf = null;
    this.bodyStart = -1;
    this.bodyLength = -1;
    resolve(status);
  }

  fail(err) {
    const p = this.pending;
    this.pending = null;
    this.socket.destroy();
    if (p) p.reject(err);
    else if (!this.closing) this.error = err;
  }

  close() {
    this.closing = true;
    this.socket.end();
  }
}

/** `connections` keep-alive connections to `origin` (http://host:port); `get` uses a free one. */
export class KeepAliveClient {
  static async open(origin, connections) {
    const url = new URL(origin);
    if (url.protocol !== 'http:') throw new Error(`only http: origins, got ${origin}`);
    const port = Number(url.port || 80);
    const conns = await Promise.all(
      Array.from({ length: connections }, () => new Promise((resolve, reject) => {
        const socket = connect({ host: url.hostname, port });
        socket.once('connect', () => resolve(new Connection(socket, url.host)));
        socket.once('error', reject);
      })),
    );
    return new KeepAliveClient(conns);
  }

  constructor(conns) {
    this.free = conns;
    this.all = [...conns];
  }

  /** GET `path`; rejects unless the status is one of `expect`. */
  async get(path, expect) {
    const c = this.free.pop();
    if (c === undefined) throw new Error('more requests in flight than connections');
    const status = await c.get(path);
    this.free.push(c);
    if (!expect.includes(status)) throw new Error(`GET ${path}: ${status}`);
    return status;
  }

  close() {
    for (const c of this.all) c.close();
  }
}
