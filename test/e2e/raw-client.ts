// A small raw HTTPS client for e2e tests that check wire-level API semantics:
// HTTP/2 (one session, as kubectl and client-go use) or HTTP/1.1 (a keep-alive
// agent), verifying the server with the cluster CA and authenticating with the
// admin bearer token from the data dir. Requests resolve with status, headers
// and body; watches yield their newline-delimited events one at a time.
// Loopback only; `close()` ends every session, socket and open watch.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export type Protocol = 'h2' | 'http/1.1';

export interface RawRequest {
  method?: string;
  path: string;
  /** A Buffer or string is sent as is; anything else as JSON. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  headers?: Record<string, string>;
  /** Send the admin bearer token (default true). */
  auth?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  httpVersion: string;
  body: Buffer;
  text: string;
  /** The parsed JSON body (undefined when the body is not JSON). */
  json: any;
}

export interface WatchEvent {
  type: string;
  object: any;
}

interface Opened {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  httpVersion: string;
  stream: Readable;
  cancel(): void;
}

export class RawClient {
  readonly port: number;
  readonly protocol: Protocol;
  private readonly ca: Buffer;
  private readonly token: string;
  private h2?: ClientHttp2Session;
  private agent?: Agent;
  private readonly open = new Set<() => void>();

  constructor(options: { port: number; dataDir: string; protocol?: Protocol }) {
    this.port = options.port;
    this.protocol = options.protocol ?? 'h2';
    this.ca = readFileSync(join(options.dataDir, 'tls', 'ca.crt'));
    this.token = readFileSync(join(options.dataDir, 'tls', 'admin.token'), 'utf8').trim();
  }

  async request(req: RawRequest): Promise<RawResponse> {
    const opened = await this.send(req);
    const chunks: Buffer[] = [];
    for await (const chunk of opened.stream) chunks.push(Buffer.from(chunk));
    const body = Buffer.concat(chunks);
    const text = body.toString('utf8');
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: opened.status, headers: opened.headers, httpVersion: opened.httpVersion, body, text, json };
  }

  get(path: string, accept?: string): Promise<RawResponse> {
    return this.request({ path, accept });
  }

  post(path: string, body: unknown, query = ''): Promise<RawResponse> {
    return this.request({ method: 'POST', path: path + query, body });
  }

  put(path: string, body: unknown, query = ''): Promise<RawResponse> {
    return this.request({ method: 'PUT', path: path + query, body });
  }

  patch(path: string, body: unknown, contentType = 'application/merge-patch+json'): Promise<RawResponse> {
    return this.request({ method: 'PATCH', path, body, contentType });
  }

  delete(path: string, body?: unknown, query = ''): Promise<RawResponse> {
    return this.request({ method: 'DELETE', path: path + query, body });
  }

  /** Open a watch (the caller puts watch=1 in the path). Rejects unless the server answers 200. */
  async watch(path: string, accept?: string): Promise<WatchStream> {
    const opened = await this.send({ path, accept });
    if (opened.status !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of opened.stream) chunks.push(Buffer.from(chunk));
      throw new Error(`watch ${path}: HTTP ${opened.status}: ${Buffer.concat(chunks).toString('utf8')}`);
    }
    const watch = new WatchStream(opened, () => this.open.delete(cancel));
    const cancel = () => watch.close();
    this.open.add(cancel);
    return watch;
  }

  async close(): Promise<void> {
    for (const cancel of [...this.open]) cancel();
    this.open.clear();
    if (this.h2 && !this.h2.closed) {
      const session = this.h2;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          session.destroy();
          resolve();
        }, 2000);
        session.close(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.agent?.destroy();
  }

  private headersFor(req: RawRequest, body: Buffer | undefined): Record<string, string> {
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    if (req.auth !== false) headers.authorization = `Bearer ${this.token}`;
    if (req.accept) headers.accept = req.accept;
    if (body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = String(body.length);
    }
    return headers;
  }

  private send(req: RawRequest): Promise<Opened> {
    const method = req.method ?? 'GET';
    const body = req.body === undefined ? undefined
      : Buffer.isBuffer(req.body) ? req.body
        : typeof req.body === 'string' ? Buffer.from(req.body) : Buffer.from(JSON.stringify(req.body));
    const headers = this.headersFor(req, body);
    return this.protocol === 'h2' ? this.sendH2(method, req.path, headers, body) : this.sendH1(method, req.path, headers, body);
  }

  private session(): ClientHttp2Session {
    if (!this.h2 || this.h2.closed || this.h2.destroyed) {
      this.h2 = connect(`https://127.0.0.1:${this.port}`, { ca: this.ca });
      this.h2.on('error', () => {});
    }
    return this.h2;
  }

  private sendH2(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Opened> {
    const stream: ClientHttp2Stream = this.session().request({ ':method': method, ':path': path, ...headers }, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    return new Promise((resolve, reject) => {
      stream.once('error', reject);
      stream.once('response', (h) => {
        stream.removeListener('error', reject);
        // A reset after the response (a server that answered early) must not crash the test process.
        stream.on('error', () => {});
        const { ':status': status, ...rest } = h;
        resolve({
          status: Number(status), headers: rest as Opened['headers'], httpVersion: '2.0', stream,
          cancel: () => {
            if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
          },
        });
      });
    });
  }

  private sendH1(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Opened> {
    this.agent ??= new Agent({ ca: this.ca, keepAlive: true, maxSockets: 16 });
    return new Promise((resolve, reject) => {
      const r = httpsRequest({ host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent }, (res) => {
        res.on('error', () => {});
        resolve({ status: res.statusCode ?? 0, headers: res.headers, httpVersion: res.httpVersion, stream: res, cancel: () => r.destroy() });
      });
      r.on('error', reject);
      r.end(body);
    });
  }
}

/** The events of one watch response, parsed line by line. */
export class WatchStream {
  readonly status: number;
  readonly headers: Opened['headers'];
  private readonly queue: WatchEvent[] = [];
  private readonly waiters: (() => void)[] = [];
  private buffered = '';
  private endedFlag = false;
  private readonly cancel: () => void;
  private readonly onClose: () => void;
  /** Resolves when the server ends the stream (or it is closed). */
  readonly ended: Promise<void>;

  constructor(opened: Opened, onClose: () => void) {
    this.status = opened.status;
    this.headers = opened.headers;
    this.cancel = opened.cancel;
    this.onClose = onClose;
    let markEnded!: () => void;
    this.ended = new Promise<void>((resolve) => (markEnded = resolve));
    const finish = () => {
      if (this.endedFlag) return;
      this.endedFlag = true;
      markEnded();
      this.wake();
    };
    opened.stream.setEncoding('utf8');
    opened.stream.on('data', (chunk: string) => {
      this.buffered += chunk;
      let newline: number;
      while ((newline = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, newline).trim();
        this.buffered = this.buffered.slice(newline + 1);
        if (line) this.queue.push(JSON.parse(line));
      }
      this.wake();
    });
    opened.stream.on('end', finish);
    opened.stream.on('close', finish);
    opened.stream.on('error', finish);
  }

  get isEnded(): boolean {
    return this.endedFlag;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The next event; undefined when the stream ended; throws after `timeoutMs` without one. */
  async next(timeoutMs = 5000): Promise<WatchEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const event = this.queue.shift();
      if (event) return event;
      if (this.endedFlag) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no watch event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Exactly `count` events (throws on timeout or early end). */
  async take(count: number, timeoutMs = 5000): Promise<WatchEvent[]> {
    const out: WatchEvent[] = [];
    while (out.length < count) {
      const event = await this.next(timeoutMs);
      if (!event) throw new Error(`watch ended after ${out.length} of ${count} events: ${JSON.stringify(out.map((e) => e.type))}`);
      out.push(event);
    }
    return out;
  }

  close(): void {
    this.cancel();
    this.onClose();
  }
}

/** Assert a `Status` failure as upstream renders it: HTTP code, reason, and the message (exact text or pattern). */
export function expectStatus(res: RawResponse, code: number, reason: string, message?: string | RegExp): any {
  const where = `${res.status} ${res.text.slice(0, 600)}`;
  assert.equal(res.status, code, where);
  assert.match(String(res.headers['content-type']), /^application\/json/, where);
  assert.equal(res.json?.kind, 'Status', where);
  assert.equal(res.json.apiVersion, 'v1', where);
  assert.equal(res.json.status, 'Failure', where);
  assert.equal(res.json.code, code, where);
  assert.equal(res.json.reason, reason, where);
  if (typeof message === 'string') assert.equal(res.json.message, message);
  else if (message) assert.match(res.json.message, message);
  return res.json;
}

/** Assert a 2xx answer and return its JSON body. */
export function ok(res: RawResponse, code?: number): any {
  if (code !== undefined) assert.equal(res.status, code, `${res.status} ${res.text.slice(0, 600)}`);
  else assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${res.text.slice(0, 600)}`);
  return res.json;
}

export const configMap = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>) => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, data,
});

/**
 * Create a namespace (201) for a test's objects, with the `default`
 * ServiceAccount pods need (servers without controllers do not make it).
 */
export async function createNamespace(api: RawClient, name: string): Promise<void> {
  ok(await api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }), 201);
  const account = await api.post(`/api/v1/namespaces/${name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  if (account.status !== 409) ok(account, 201);
}
