// A thin node:http2 client for benchmarks: requests spread over one or more
// sessions to a loopback `skiff server`, the admin client certificate or
// bearer token, a timeout per request, and newline-delimited streams (watches)
// on their own session, each line stamped with its arrival time.
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface Response {
  status: number;
  body: string;
}

export interface RequestOptions {
  /** Overrides the client's per-request timeout. */
  timeoutMs?: number;
  /** Default application/json. */
  contentType?: string;
}

export interface ClientOptions {
  port: number;
  /** The server's data-dir/tls: ca.crt, admin.crt/admin.key, admin.token. */
  tlsDir: string;
  /** HTTP/2 sessions the requests are spread over (default 1). */
  sessions?: number;
  /** cert: the admin client certificate (as kubectl); token: the admin bearer token. */
  auth?: 'cert' | 'token';
  /** Default per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  log?: (message: string) => void;
}

export class Client {
  readonly sessions: http2.ClientHttp2Session[] = [];
  readonly #options: ClientOptions;
  readonly #auth: http2.OutgoingHttpHeaders = {};
  readonly #connect: (windowBytes?: number) => http2.ClientHttp2Session;
  readonly #streams = new Set<{ stop(): void }>();
  #next = 0;

  constructor(options: ClientOptions) {
    this.#options = options;
    const ca = readFileSync(join(options.tlsDir, 'ca.crt'));
    const auth = options.auth ?? 'cert';
    const credentials = auth === 'cert'
      ? { cert: readFileSync(join(options.tlsDir, 'admin.crt')), key: readFileSync(join(options.tlsDir, 'admin.key')) }
      : {};
    if (auth === 'token') this.#auth.authorization = `Bearer ${readFileSync(join(options.tlsDir, 'admin.token'), 'utf8').trim()}`;
    this.#connect = (windowBytes?: number) => {
      const session = http2.connect(`https://127.0.0.1:${options.port}`, {
        ca, ...credentials, ...(windowBytes ? { settings: { initialWindowSize: Math.min(windowBytes, 2 ** 31 - 1) } } : {}),
      });
      session.on('error', (error) => options.log?.(`http2 session error: ${error.message}`));
      if (windowBytes) session.once('connect', () => session.setLocalWindowSize(windowBytes));
      return session;
    };
    for (let i = 0; i < (options.sessions ?? 1); i++) this.sessions.push(this.#connect());
  }

  session(): http2.ClientHttp2Session {
    const s = this.sessions[this.#next]!;
    this.#next = (this.#next + 1) % this.sessions.length;
    return s;
  }

  /** The authorization header this client sends (empty with the client certificate), for a caller's own streams. */
  authHeaders(): http2.OutgoingHttpHeaders {
    return { ...this.#auth };
  }

  /** `body`: an object (sent as JSON) or a string sent as is. */
  request(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<Response> {
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs ?? 30_000;
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: http2.OutgoingHttpHeaders = { ':method': method, ':path': path, accept: 'application/json', ...this.#auth };
    if (text !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    return new Promise<Response>((resolve, reject) => {
      const stream = this.session().request(headers, { endStream: text === undefined });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.setTimeout(timeoutMs, () => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new Error(`${method} ${path}: no answer in ${timeoutMs / 1000}s`));
      });
      stream.on('response', (h) => { status = Number(h[':status']); });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
      stream.on('error', reject);
      if (text !== undefined) stream.end(text);
    });
  }

  async expect(method: string, path: string, status: number, body?: unknown, options?: RequestOptions): Promise<string> {
    const r = await this.request(method, path, body, options);
    if (r.status !== status) throw new Error(`${method} ${path}: HTTP ${r.status}, expected ${status}: ${r.body.slice(0, 500)}`);
    return r.body;
  }

  /**
   * Opens a long GET (a watch) on its own new session, like a controller's
   * informer, and calls `onLine` with each non-empty line and the time its
   * chunk arrived. Resolves once the server answered the headers (skiff
   * registers a watch in the same step as it sends them); `onEnd` runs if the
   * server ends the stream before stop() is called. `windowBytes` sets the
   * session's and the stream's HTTP/2 receive windows (default: Node's 64 KiB).
   */
  async openLineStream(
    path: string, onLine: (line: string, at: number) => void, onEnd?: (error?: Error) => void, options: { windowBytes?: number } = {},
  ): Promise<{ stop(): void }> {
    const session = this.#connect(options.windowBytes);
    const stream = session.request({ ':method': 'GET', ':path': path, accept: 'application/json', ...this.#auth });
    let stopped = false;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const at = performance.now();
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim()) onLine(line, at);
      }
    });
    stream.on('error', (error) => { if (!stopped) onEnd?.(error); });
    stream.on('end', () => { if (!stopped) onEnd?.(); });
    const handle = {
      stop: () => {
        if (stopped) return;
        stopped = true;
        this.#streams.delete(handle);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        session.destroy();
      },
    };
    this.#streams.add(handle);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${path}: no response headers in 10s`)), 10_000);
      stream.once('response', (h) => {
        clearTimeout(timer);
        if (h[':status'] !== 200) reject(new Error(`${path}: HTTP ${h[':status']}`));
        else resolve();
      });
      stream.once('error', (e) => { clearTimeout(timer); reject(e); });
    }).catch((error: unknown) => {
      handle.stop();
      throw error;
    });
    return handle;
  }

  close(): void {
    for (const s of [...this.#streams]) s.stop();
    for (const s of this.sessions) s.destroy();
  }
}
