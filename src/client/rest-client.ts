// The REST client every component uses: ApiClient over one HTTP/2 session
// (see http2-connection.ts) with JSON bodies, Status errors, per-request
// timeouts, and watches streamed as newline-delimited events.
//
// Retries are deliberately narrow: a request whose connection broke before
// the answer is repeated once, and only when repeating cannot do harm — reads
// (get, list, watch setup), or any request the server provably never saw.
// Everything else (including every non-2xx answer) goes back to the caller,
// whose reconcile loop decides.
import { constants, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import { ConnectionLostError, Http2Connection, type OpenedStream } from './http2-connection.ts';
import {
  ApiStatusError,
  type ApiClient, type DeleteCollectionOptions, type DeleteOptions, type GetOptions, type KubeObject, type ListOptions, type ObjectList, type PatchOptions,
  type PatchType, type ResourceRef, type WatchOptions, type WatchStream, type WriteOptions,
} from './interface.ts';
import { HttpWatchStream } from './watch-stream.ts';

export { loadKubeconfig, type KubeconfigCredentials, type LoadKubeconfigOptions } from './kubeconfig.ts';

export interface RestClientOptions {
  /** https://host:port, optionally with a path prefix. */
  server: string;
  /** PEM of the CA that signed the server certificate; the system trust store when absent. */
  caCert?: string;
  token?: string;
  /** PEM client certificate and key for mutual TLS. */
  clientCert?: string;
  clientKey?: string;
  insecureSkipTlsVerify?: boolean;
  userAgent?: string;
  /** Requests (not watches, which live long) in flight at once; more wait in order. Default 100. */
  maxConcurrentStreams?: number;
  /** Per-request timeout, waiting for a free stream included. Default 30 s; watches have none. */
  timeoutMs?: number;
  /** Health check of the connection while streams are open (default 30 s; 0 disables). */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export interface RestClient extends ApiClient {
  /** Drop the current connection (its streams fail, watches end with an error); the next request reconnects. */
  resetConnection(): void;
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/**
 * Accept headers of metadata-only reads, as upstream's metadata client sends
 * them: PartialObjectMetadata(List), else plain JSON from a server that cannot
 * (whole objects then; the caller reads only their metadata).
 */
const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

/** Reasons for error answers that carry no Status body (proxies, plain-text errors). */
const REASONS: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  406: 'NotAcceptable', 409: 'Conflict', 410: 'Expired', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType',
  422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

export class RequestTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(message: string) {
    super(message);
    this.name = 'RequestTimeoutError';
  }
}

/** The URL path of a resource, collection or subresource (no query). */
export function resourcePath(ref: ResourceRef): string {
  const seg = encodeURIComponent;
  let path = ref.group === '' ? `/api/${seg(ref.version)}` : `/apis/${seg(ref.group)}/${seg(ref.version)}`;
  if (ref.namespace) path += `/namespaces/${seg(ref.namespace)}`;
  path += `/${seg(ref.resource)}`;
  if (ref.name) path += `/${seg(ref.name)}`;
  if (ref.subresource) {
    if (!ref.name) throw new Error(`subresource "${ref.subresource}" of ${ref.resource} needs a name`);
    path += `/${seg(ref.subresource)}`;
  }
  return path;
}

function setQuery(query: URLSearchParams, values: Record<string, string | number | boolean | undefined>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== '') query.set(key, String(value));
  }
}

function deleteOptionsBody(options: DeleteOptions) {
  return {
    kind: 'DeleteOptions', apiVersion: 'v1',
    gracePeriodSeconds: options.gracePeriodSeconds,
    propagationPolicy: options.propagationPolicy,
    preconditions: options.preconditions,
    dryRun: options.dryRun ? ['All'] : undefined,
  };
}

function writeQuery(options: WriteOptions & { force?: boolean } = {}): URLSearchParams {
  const query = new URLSearchParams();
  setQuery(query, { dryRun: options.dryRun ? 'All' : undefined, fieldManager: options.fieldManager, force: options.force });
  return query;
}

/** The Status error for a non-2xx answer. */
export function statusError(code: number, body: string): ApiStatusError {
  let status: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && (parsed as { kind?: unknown }).kind === 'Status') status = parsed as Record<string, unknown>;
  } catch {
    // not JSON: keep the text as the message
  }
  if (status) {
    return new ApiStatusError({
      code: typeof status.code === 'number' ? status.code : code,
      reason: typeof status.reason === 'string' ? status.reason : REASONS[code] ?? '',
      message: typeof status.message === 'string' ? status.message : `the server answered ${code}`,
      status,
    });
  }
  return new ApiStatusError({ code, reason: REASONS[code] ?? 'Unknown', message: body.trim() || `the server answered ${code}` });
}

/** A FIFO counting semaphore: bounds requests in flight so a burst queues here, not in the server. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(count: number) {
    this.free = count;
  }
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: URLSearchParams;
  body?: unknown;
  contentType?: string;
  /** Safe to repeat after a broken connection. */
  idempotent: boolean;
  /** Overrides the default Accept (application/json). */
  accept?: string;
}

function readAll({ stream, endedCleanly }: OpenedStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => {
      ended = true;
      if (endedCleanly()) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(new ConnectionLostError('response broke off: the connection closed', { neverSent: false }));
    });
    stream.once('error', (error) => reject(new ConnectionLostError(`response broke off: ${error.message}`, { neverSent: false, cause: error })));
    stream.once('close', () => {
      if (!ended) reject(new ConnectionLostError(`response broke off (code ${stream.rstCode})`, { neverSent: false }));
    });
  });
}

class Http2RestClient implements RestClient {
  private readonly connection: Http2Connection;
  private readonly prefix: string;
  private readonly baseHeaders: OutgoingHttpHeaders;
  private readonly slots: Slots;
  private readonly timeoutMs: number;

  constructor(options: RestClientOptions) {
    const url = new URL(options.server);
    if (url.protocol !== 'https:') throw new Error(`the API server URL must be https: ${options.server}`);
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.connection = new Http2Connection({
      origin: url.origin, ca: options.caCert, cert: options.clientCert, key: options.clientKey,
      insecureSkipTlsVerify: options.insecureSkipTlsVerify, connectTimeoutMs: options.connectTimeoutMs,
      pingIntervalMs: options.pingIntervalMs, pingTimeoutMs: options.pingTimeoutMs,
    });
    this.baseHeaders = {
      accept: 'application/json',
      'user-agent': options.userAgent ?? `skiff/0.1.0 (${process.platform}/${process.arch})`,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    };
    this.slots = new Slots(options.maxConcurrentStreams ?? 100);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async get<T extends KubeObject = KubeObject>(ref: ResourceRef, options: GetOptions = {}): Promise<T> {
    if (!ref.name) throw new Error(`get ${ref.resource} needs a name`);
    const accept = options.metadataOnly ? METADATA_ACCEPT : undefined;
    return this.request<T>({ method: 'GET', path: resourcePath(ref), idempotent: true, accept });
  }

  async list<T extends KubeObject = KubeObject>(ref: ResourceRef, options: ListOptions = {}): Promise<ObjectList<T>> {
    const { metadataOnly, ...params } = options;
    const query = new URLSearchParams();
    setQuery(query, { ...params });
    const accept = metadataOnly ? METADATA_LIST_ACCEPT : undefined;
    return this.request<ObjectList<T>>({ method: 'GET', path: resourcePath({ ...ref, name: undefined }), query, idempotent: true, accept });
  }

  watch<T extends KubeObject = KubeObject>(ref: ResourceRef, options: WatchOptions = {}): WatchStream<T> {
    const query = new URLSearchParams({ watch: 'true' });
    // One object is watched through its collection narrowed by name, as kubectl does.
    const byName = ref.name ? `metadata.name=${ref.name}` : undefined;
    const fieldSelector = [byName, options.fieldSelector].filter(Boolean).join(',');
    setQuery(query, {
      resourceVersion: options.resourceVersion, labelSelector: options.labelSelector, fieldSelector,
      allowWatchBookmarks: options.allowWatchBookmarks, timeoutSeconds: options.timeoutSeconds,
    });
    const path = resourcePath({ ...ref, name: undefined, subresource: undefined });
    const accept = options.metadataOnly ? METADATA_ACCEPT : undefined;
    return new HttpWatchStream<T>(() => this.openWatch(path, query, accept));
  }

  async create<T extends KubeObject = KubeObject>(ref: ResourceRef, body: unknown, options?: WriteOptions): Promise<T> {
    const target = { ...ref, namespace: ref.namespace ?? bodyNamespace(body) };
    // Without a subresource a create goes to the collection; the name lives in the body.
    if (!target.subresource) target.name = undefined;
    return this.request<T>({ method: 'POST', path: resourcePath(target), query: writeQuery(options), body, idempotent: false });
  }

  async update<T extends KubeObject = KubeObject>(ref: ResourceRef, body: unknown, options?: WriteOptions): Promise<T> {
    const target = { ...ref, namespace: ref.namespace ?? bodyNamespace(body), name: ref.name ?? bodyName(body) };
    if (!target.name) throw new Error(`update ${ref.resource} needs a name`);
    return this.request<T>({ method: 'PUT', path: resourcePath(target), query: writeQuery(options), body, idempotent: false });
  }

  async patch<T extends KubeObject = KubeObject>(ref: ResourceRef, type: PatchType, patch: unknown, options: PatchOptions = {}): Promise<T> {
    if (!ref.name) throw new Error(`patch ${ref.resource} needs a name`);
    const contentType = PATCH_CONTENT_TYPES[type];
    if (!contentType) throw new Error(`unknown patch type "${type}"`);
    const query = writeQuery({ dryRun: options.dryRun, fieldManager: options.fieldManager, force: type === 'apply' ? options.force : undefined });
    return this.request<T>({ method: 'PATCH', path: resourcePath(ref), query, body: patch, contentType, idempotent: false });
  }

  async delete(ref: ResourceRef, options: DeleteOptions = {}): Promise<unknown> {
    // A missing name would make this a delete of the whole collection: never by accident.
    if (!ref.name) throw new Error(`delete ${ref.resource} needs a name`);
    return this.request({ method: 'DELETE', path: resourcePath(ref), body: deleteOptionsBody(options), idempotent: false });
  }

  async deleteCollection(ref: ResourceRef, options: DeleteCollectionOptions = {}): Promise<unknown> {
    if (ref.name) throw new Error(`deleteCollection of ${ref.resource} addresses a collection, not "${ref.name}"`);
    const query = new URLSearchParams();
    setQuery(query, { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector });
    return this.request({ method: 'DELETE', path: resourcePath(ref), query, body: deleteOptionsBody(options), idempotent: false });
  }

  resetConnection(): void {
    this.connection.reset();
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  private headers(method: string, path: string, query: URLSearchParams | undefined, contentType?: string, accept?: string): OutgoingHttpHeaders {
    const search = query?.toString();
    return {
      ...this.baseHeaders,
      ...(accept ? { accept } : {}),
      [constants.HTTP2_HEADER_METHOD]: method,
      [constants.HTTP2_HEADER_PATH]: this.prefix + path + (search ? `?${search}` : ''),
      ...(contentType ? { 'content-type': contentType } : {}),
    };
  }

  /** One request with a deadline; the body is parsed JSON (or undefined when empty). */
  private async request<T>(spec: RequestSpec): Promise<T> {
    const state: { timedOut: boolean; stream?: ClientHttp2Stream } = { timedOut: false };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        state.timedOut = true;
        state.stream?.close(constants.NGHTTP2_CANCEL);
        reject(new RequestTimeoutError(`${spec.method} ${spec.path}: no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([this.attempts<T>(spec, state), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async attempts<T>(spec: RequestSpec, state: { timedOut: boolean; stream?: ClientHttp2Stream }): Promise<T> {
    const release = await this.slots.acquire();
    try {
      const contentType = spec.body === undefined ? undefined : spec.contentType ?? 'application/json';
      const body = spec.body === undefined ? undefined : Buffer.from(typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body));
      const headers = this.headers(spec.method, spec.path, spec.query, contentType, spec.accept);
      for (let attempt = 1; ; attempt++) {
        if (state.timedOut) throw new RequestTimeoutError(`${spec.method} ${spec.path} timed out`);
        try {
          const opened = await this.connection.open({ headers, body });
          state.stream = opened.stream;
          if (state.timedOut) opened.stream.close(constants.NGHTTP2_CANCEL);
          const text = await readAll(opened);
          if (opened.status < 200 || opened.status > 299) throw statusError(opened.status, text);
          return (text === '' ? undefined : JSON.parse(text)) as T;
        } catch (error) {
          const retry = error instanceof ConnectionLostError && attempt === 1 && !state.timedOut && (spec.idempotent || error.neverSent);
          if (!retry) throw error;
        }
      }
    } finally {
      release();
    }
  }

  /** Opens a watch stream, retrying once if the connection broke first; a non-2xx answer becomes an ApiStatusError. */
  private async openWatch(path: string, query: URLSearchParams, accept?: string): Promise<OpenedStream> {
    const headers = this.headers('GET', path, query, undefined, accept);
    for (let attempt = 1; ; attempt++) {
      try {
        const opened = await this.connection.open({ headers });
        if (opened.status >= 200 && opened.status <= 299) return opened;
        throw statusError(opened.status, await readAll(opened));
      } catch (error) {
        if (!(error instanceof ConnectionLostError) || attempt > 1) throw error;
      }
    }
  }
}

function bodyMeta(body: unknown): Record<string, unknown> | undefined {
  const meta = (body as { metadata?: unknown } | null)?.metadata;
  return meta && typeof meta === 'object' ? meta as Record<string, unknown> : undefined;
}
const bodyNamespace = (body: unknown) => (typeof bodyMeta(body)?.namespace === 'string' ? bodyMeta(body)!.namespace as string : undefined);
const bodyName = (body: unknown) => (typeof bodyMeta(body)?.name === 'string' ? bodyMeta(body)!.name as string : undefined);

export function createRestClient(options: RestClientOptions): RestClient {
  return new Http2RestClient(options);
}
