// One HTTP/2 session to the API server, shared by every request of a client
// (HTTP/2 multiplexes, so one TLS connection carries all watches and calls).
// The session is (re)opened on demand: when it dies or the server sends
// GOAWAY, the next request opens a fresh one, and requests made meanwhile
// wait for it. A ping health check notices a connection that went silent
// (peer rebooted, NAT dropped it) while streams are open — otherwise a watch
// on a dead connection would wait forever.
import {
  connect, constants,
  type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders,
} from 'node:http2';

export interface Http2ConnectionOptions {
  /** https://host:port (any path is the caller's business). */
  origin: string;
  /** PEM CA bundle; the system trust store when absent. */
  ca?: string;
  /** PEM client certificate and key for mutual TLS. */
  cert?: string;
  key?: string;
  /** Skip server certificate verification (kubeconfig `insecure-skip-tls-verify`). */
  insecureSkipTlsVerify?: boolean;
  /** Give up opening a connection after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** While streams are open, ping this often (default 30 s; 0 disables). */
  pingIntervalMs?: number;
  /** A ping unanswered this long kills the session (default 15 s). */
  pingTimeoutMs?: number;
}

/**
 * The stream failed before the server answered because the connection broke
 * (or could not be opened). `neverSent` says the server cannot have seen the
 * request, so even a non-idempotent request may be repeated.
 */
export class ConnectionLostError extends Error {
  readonly neverSent: boolean;
  constructor(message: string, options: { neverSent: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'ConnectionLostError';
    this.neverSent = options.neverSent;
  }
}

export interface OpenedStream {
  status: number;
  headers: IncomingHttpHeaders;
  stream: ClientHttp2Stream;
  /**
   * True when the body's 'end' was real. Node also ends a stream's body when
   * its session is torn down (destroyed locally, or the socket dropped), so
   * 'end' alone cannot tell a complete response from a cut one.
   */
  endedCleanly(): boolean;
}

/** See OpenedStream.endedCleanly. */
function cleanEnd(session: ClientHttp2Session, stream: ClientHttp2Stream): boolean {
  return !session.destroyed && (stream.rstCode === undefined || stream.rstCode === constants.NGHTTP2_NO_ERROR);
}

export class Http2Connection {
  private readonly options: Http2ConnectionOptions;
  private current: ClientHttp2Session | undefined;
  private connecting: Promise<ClientHttp2Session> | undefined;
  /** Every session not yet closed, so close() can end them all (including one still connecting). */
  private readonly sessions = new Set<ClientHttp2Session>();
  /** Open streams per session: a session with none is unref'd so an idle client never holds the process open. */
  private readonly activeStreams = new Map<ClientHttp2Session, number>();
  private pingTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: Http2ConnectionOptions) {
    this.options = options;
  }

  /**
   * Send a request and resolve once the response headers arrive. The caller
   * owns the returned stream (read it, or close it) and must call nothing
   * else: the stream's close is tracked here.
   */
  async open(request: { headers: OutgoingHttpHeaders; body?: Buffer }): Promise<OpenedStream> {
    const session = await this.session();
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(request.headers, { endStream: request.body === undefined });
    } catch (error) {
      // The session closed between handing it out and using it (GOAWAY, destroy): nothing went out.
      this.forget(session);
      throw new ConnectionLostError(`connection closed: ${(error as Error).message}`, { neverSent: true, cause: error });
    }
    this.track(session, stream);
    if (request.body !== undefined) stream.end(request.body);
    return new Promise<OpenedStream>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      stream.once('response', (headers) => {
        if (settled) return;
        settled = true;
        resolve({ status: Number(headers[constants.HTTP2_HEADER_STATUS]), headers, stream, endedCleanly: () => cleanEnd(session, stream) });
      });
      stream.once('error', (error) => fail(new ConnectionLostError(`request failed before a response: ${error.message}`, {
        neverSent: stream.rstCode === constants.NGHTTP2_REFUSED_STREAM, cause: error,
      })));
      stream.once('close', () => fail(new ConnectionLostError(`stream closed before a response (code ${stream.rstCode})`, {
        neverSent: stream.rstCode === constants.NGHTTP2_REFUSED_STREAM,
      })));
    });
  }

  /** Drop the current session (its open streams fail); the next request reconnects. */
  reset(): void {
    const session = this.current;
    this.current = undefined;
    this.connecting = undefined;
    session?.destroy();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopPings();
    this.current = undefined;
    this.connecting = undefined;
    // Open streams (watches) end now rather than whenever the server ends them.
    await Promise.all([...this.sessions].map((s) => {
      const gone = new Promise<void>((resolve) => s.once('close', () => resolve()));
      s.destroy();
      return gone;
    }));
  }

  private async session(): Promise<ClientHttp2Session> {
    if (this.closed) throw new Error('the API client is closed');
    const current = this.current;
    if (current && !current.closed && !current.destroyed) return current;
    this.current = undefined;
    this.connecting ??= this.connect().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private connect(): Promise<ClientHttp2Session> {
    const { origin, ca, cert, key, insecureSkipTlsVerify } = this.options;
    return new Promise<ClientHttp2Session>((resolve, reject) => {
      const session = connect(origin, { ca, cert, key, rejectUnauthorized: !insecureSkipTlsVerify, settings: { enablePush: false } });
      this.sessions.add(session);
      const timer = setTimeout(() => {
        session.destroy(new Error(`connecting to ${origin} timed out`));
      }, this.options.connectTimeoutMs ?? 10_000);
      session.once('connect', () => {
        clearTimeout(timer);
        if (this.closed) {
          session.destroy();
          reject(new Error('the API client is closed'));
          return;
        }
        this.current = session;
        this.activeStreams.set(session, this.activeStreams.get(session) ?? 0);
        this.updateRef(session);
        resolve(session);
      });
      // Without an 'error' listener a dying session would throw out of the event loop.
      session.on('error', (error) => {
        clearTimeout(timer);
        reject(new ConnectionLostError(`cannot connect to ${origin}: ${error.message}`, { neverSent: true, cause: error }));
      });
      // Node shuts the session down itself after GOAWAY; new requests must go to a new one.
      session.on('goaway', () => this.forget(session));
      session.on('close', () => {
        clearTimeout(timer);
        this.sessions.delete(session);
        this.forget(session);
        this.activeStreams.delete(session);
        this.updateRef(session);
        reject(new ConnectionLostError(`connection to ${origin} closed`, { neverSent: true }));
      });
    });
  }

  private forget(session: ClientHttp2Session): void {
    if (this.current === session) this.current = undefined;
  }

  private track(session: ClientHttp2Session, stream: ClientHttp2Stream): void {
    this.activeStreams.set(session, (this.activeStreams.get(session) ?? 0) + 1);
    this.updateRef(session);
    stream.once('close', () => {
      const count = (this.activeStreams.get(session) ?? 1) - 1;
      if (this.activeStreams.has(session)) this.activeStreams.set(session, count);
      this.updateRef(session);
    });
  }

  private updateRef(session: ClientHttp2Session): void {
    if (!session.destroyed) {
      if ((this.activeStreams.get(session) ?? 0) > 0) session.ref();
      else session.unref();
    }
    const anyBusy = [...this.activeStreams.values()].some((n) => n > 0);
    if (anyBusy) this.startPings();
    else this.stopPings();
  }

  private startPings(): void {
    const interval = this.options.pingIntervalMs ?? 30_000;
    if (this.pingTimer || interval <= 0) return;
    this.pingTimer = setInterval(() => this.pingAll(), interval);
    // Pings only watch over streams; they never keep the process alive themselves.
    this.pingTimer.unref();
  }

  private stopPings(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private pingAll(): void {
    const timeoutMs = this.options.pingTimeoutMs ?? 15_000;
    for (const [session, count] of this.activeStreams) {
      if (count === 0 || session.destroyed) continue;
      const timer = setTimeout(() => session.destroy(new Error('the API server did not answer a ping')), timeoutMs);
      timer.unref();
      const sent = session.ping((error) => {
        clearTimeout(timer);
        if (error && !session.destroyed) session.destroy(error);
      });
      if (!sent) clearTimeout(timer);
    }
  }
}
