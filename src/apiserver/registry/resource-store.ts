// Kubernetes object semantics on top of the revisioned key-value store:
// keys per resource, resourceVersion = the store's modRevision, uid and
// creationTimestamp on create, optimistic concurrency, finalizers, paged lists
// with continue tokens, and watches translated to ADDED/MODIFIED/DELETED.
import { randomUUID } from 'node:crypto';
import {
  CompactedError, ConflictError, FutureRevisionError, KeyExistsError, NotFoundError,
  type IndexHint, type KeyValue, type ListOptions, type Store, type Watch, type WatchEvent,
} from '../../storage/interface.ts';
import type { KubeObject, ObjectMeta } from '../../api/object.ts';
import { builtinKinds, type ResourceInfo } from '../../api/registry.ts';
import { ApiError, errors, type StatusCause } from '../errors.ts';
import { RecentCache } from './recent-cache.ts';

export type { KubeObject, ObjectMeta } from '../../api/object.ts';

/** A predicate applied to objects in lists and watches (label and field selectors). */
export type ObjectFilter = (object: KubeObject) => boolean;

export interface ListRequest {
  namespace?: string;
  filter?: ObjectFilter;
  /** What the filter pins (a watch cache then reads only matching objects); the filter still decides. */
  index?: IndexHint;
  limit?: number;
  continueToken?: string;
  /** Unset or "" = latest (a consistent read); "0" = any; N = not older than N (exactly N with resourceVersionMatch=Exact). */
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResponse {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

export interface WatchEventOut {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

export interface WatchRequest {
  namespace?: string;
  /** Only one object. */
  name?: string;
  filter?: ObjectFilter;
  /** See ListRequest.index. */
  index?: IndexHint;
  /** Deliver events after this revision. */
  fromRevision: number;
}

const namespacesResource = () => builtinKinds().lookup('', 'v1', 'namespaces')!;
/** RFC 3339 in whole seconds, as upstream's timestamps; formatted once per second. */
let lastSecond = -1;
let lastIso = '';
const nowIso = () => {
  const second = Math.floor(Date.now() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastIso = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastIso;
};
const PAGE_FETCH = 500;
/** Enough for every watcher of a busy type to read an event while it is cached, however they interleave. */
const RECENT_EVENT_VIEWS = 2048;

export class ResourceStore {
  readonly store: Store;
  /**
   * Decoded events shared by the watchers that read them. Only recent ones:
   * keyed weakly by the event, a view lived as long as the watch cache's
   * window held the event (up to 10 000 per type), and with it the decoded
   * object and its serialized JSON line — the largest part of the server's
   * heap while pods were being created. A watcher far behind decodes again.
   */
  private readonly eventViews = new RecentCache<WatchEvent, EventView>(RECENT_EVENT_VIEWS);
  constructor(store: Store) {
    this.store = store;
  }

  keyPrefix(info: ResourceInfo, namespace?: string): string {
    const base = `/registry/${info.storageResource}/`;
    return info.namespaced && namespace ? `${base}${namespace}/` : base;
  }

  key(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return info.namespaced ? `/registry/${info.storageResource}/${namespace}/${name}` : `/registry/${info.storageResource}/${name}`;
  }

  decode(kv: KeyValue): KubeObject {
    const object = JSON.parse(kv.value) as KubeObject;
    object.metadata.resourceVersion = String(kv.modRevision);
    return object;
  }

  private encode(object: KubeObject): string {
    const { resourceVersion: _omit, ...metadata } = object.metadata;
    return JSON.stringify({ ...object, metadata });
  }

  /**
   * Whether a namespace exists and is being deleted, for NamespaceLifecycle on
   * every namespaced create: the decoded state is remembered per revision, so
   * the hot path is one key lookup without parsing.
   */
  async namespaceState(name: string): Promise<'Active' | 'Terminating' | undefined> {
    const kv = await this.store.get(this.key(namespacesResource(), undefined, name));
    if (!kv) {
      this.namespaceStates.delete(name);
      return undefined;
    }
    const cached = this.namespaceStates.get(name);
    if (cached?.revision === kv.modRevision) return cached.state;
    const ns = this.decode(kv);
    const terminating = Boolean(ns.metadata.deletionTimestamp) || (ns.status as { phase?: string } | undefined)?.phase === 'Terminating';
    const state = terminating ? 'Terminating' : 'Active';
    this.namespaceStates.set(name, { revision: kv.modRevision, state });
    return state;
  }

  private readonly namespaceStates = new Map<string, { revision: number; state: 'Active' | 'Terminating' }>();

  async get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    const kv = await this.store.get(this.key(info, namespace, name));
    if (!kv) throw errors.notFound({ group: info.group, resource: info.plural }, name);
    return this.decode(kv);
  }

  /** Store a new object (metadata already initialized with initializeObjectMeta). */
  async create(info: ResourceInfo, object: KubeObject, options: { dryRun?: boolean } = {}): Promise<KubeObject> {
    const meta = object.metadata;
    const key = this.key(info, meta.namespace, meta.name!);
    if (options.dryRun) {
      if (await this.store.get(key)) throw errors.alreadyExists({ group: info.group, resource: info.plural }, meta.name!);
      return object;
    }
    try {
      const kv = await this.store.create(key, this.encode(object));
      // The object just written is the stored one; no need to parse it back.
      return { ...object, metadata: { ...object.metadata, resourceVersion: String(kv.modRevision) } };
    } catch (error) {
      if (error instanceof KeyExistsError) throw errors.alreadyExists({ group: info.group, resource: info.plural }, meta.name!);
      throw error;
    }
  }

  /**
   * Compare-and-swap write of an existing object at `expectedRevision`. An object
   * marked for deletion whose last finalizer is gone is deleted instead.
   */
  async update(info: ResourceInfo, object: KubeObject, expectedRevision: number, options: { dryRun?: boolean } = {}): Promise<KubeObject> {
    const meta = object.metadata;
    const key = this.key(info, meta.namespace, meta.name!);
    if (options.dryRun) return object;
    try {
      // Deleted for real once marked, without finalizers, and out of grace time
      // (a pod in graceful termination waits for its node's agent; a namespace
      // also waits for its spec.finalizers, removed through namespaces/NAME/finalize).
      if (isDueForRemoval(info, object)) {
        const kv = await this.store.delete(key, expectedRevision);
        return { ...this.decode(kv), metadata: { ...object.metadata, resourceVersion: String(kv.modRevision) } };
      }
      const kv = await this.store.update(key, this.encode(object), expectedRevision);
      return this.decode(kv);
    } catch (error) {
      throw this.translateWriteError(error, info, meta.name!);
    }
  }

  async delete(info: ResourceInfo, namespace: string | undefined, name: string, expectedRevision?: number): Promise<KubeObject> {
    try {
      const kv = await this.store.delete(this.key(info, namespace, name), expectedRevision);
      return this.decode(kv);
    } catch (error) {
      throw this.translateWriteError(error, info, name);
    }
  }

  private translateWriteError(error: unknown, info: ResourceInfo, name: string): unknown {
    const gr = { group: info.group, resource: info.plural };
    if (error instanceof ConflictError) return errors.conflict(gr, name, 'the object has been modified; please apply your changes to the latest version and try again');
    if (error instanceof NotFoundError) return errors.notFound(gr, name);
    return error;
  }

  async list(info: ResourceInfo, request: ListRequest): Promise<ListResponse> {
    const prefix = this.keyPrefix(info, request.namespace);
    let after: string | undefined;
    let revision: number | undefined;
    if (request.continueToken) {
      const token = decodeContinue(request.continueToken);
      after = token.after;
      revision = token.revision;
    }
    const wanted = listResourceVersion(request);
    if (wanted.exact !== undefined) revision = wanted.exact;
    const notOlderThan = wanted.notOlderThan;
    const limit = request.limit && request.limit > 0 ? request.limit : 0;
    const items: KubeObject[] = [];
    let more = false;
    let remaining = 0;
    let lastKey: string | undefined;
    try {
      for (;;) {
        const options: ListOptions = { prefix, after, limit: limit ? Math.max(limit, PAGE_FETCH) : 0, revision, index: request.index };
        if (revision === undefined && notOlderThan !== undefined) options.notOlderThan = notOlderThan;
        const page = await this.store.list(options);
        if (revision === undefined && notOlderThan !== undefined && page.revision < notOlderThan) throw tooLargeResourceVersion(notOlderThan, page.revision);
        revision ??= page.revision;
        let unread = 0;
        for (let i = 0; i < page.items.length; i++) {
          const kv = page.items[i];
          const object = this.decode(kv);
          lastKey = kv.key;
          if (request.filter && !request.filter(object)) continue;
          items.push(object);
          if (limit && items.length >= limit) {
            unread = page.items.length - i - 1;
            break;
          }
        }
        if (limit && items.length >= limit) {
          more = unread > 0 || page.more;
          remaining = unread + (page.more ? page.remaining : 0);
          break;
        }
        if (!page.more) break;
        after = page.items[page.items.length - 1].key;
      }
    } catch (error) {
      if (wanted.exact !== undefined) {
        if (error instanceof CompactedError) throw errors.gone('The resourceVersion for the provided list is too old.');
        if (error instanceof FutureRevisionError) throw tooLargeResourceVersion(wanted.exact, await this.store.currentRevision());
      }
      if (error instanceof CompactedError) throw errors.gone('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      throw error;
    }
    const response: ListResponse = { items, resourceVersion: String(revision ?? 0) };
    if (more && lastKey) {
      response.continueToken = encodeContinue({ after: lastKey, revision: revision! });
      if (!request.filter) response.remainingItemCount = remaining;
    }
    return response;
  }

  async currentRevision(): Promise<number> {
    return this.store.currentRevision();
  }

  /**
   * Watch objects of a resource. Yields translated events; with a filter, an
   * object that starts matching is ADDED and one that stops matching is DELETED
   * (as upstream does for selector watches).
   */
  watch(info: ResourceInfo, request: WatchRequest): { events: AsyncIterable<WatchEventOut>; stop(): void; progress?(): number } {
    const prefix = request.name ? this.key(info, request.namespace, request.name) : this.keyPrefix(info, request.namespace);
    let watch: Watch;
    try {
      watch = this.store.watch({ prefix, fromRevision: request.fromRevision, index: request.index });
    } catch (error) {
      if (error instanceof CompactedError) throw errors.gone(`too old resource version: ${request.fromRevision} (${error.compactedRevision})`);
      if (error instanceof FutureRevisionError) throw errors.gone(`too old resource version: ${request.fromRevision}`);
      throw error;
    }
    const self = this;
    const exactKey = request.name ? prefix : undefined;
    async function* translate(): AsyncIterable<WatchEventOut> {
      for await (const event of watch.events) {
        if (exactKey && event.kv.key !== exactKey) continue;
        const out = self.translateEvent(event, request.filter);
        if (out) yield out;
      }
    }
    const progress = watch.progress ? () => watch.progress!() : undefined;
    return { events: translate(), stop: () => watch.stop(), progress };
  }

  /**
   * What a store event means as objects, decoded once however many watchers
   * see it (the store shares one frozen event among its watchers). Watchers
   * only read these objects.
   */
  private view(event: WatchEvent): EventView {
    let view = this.eventViews.get(event);
    if (!view) {
      if (event.type === 'delete') {
        const object = this.decode(event.prevKv ?? event.kv);
        object.metadata.resourceVersion = String(event.revision);
        view = { current: object, unfiltered: { type: 'DELETED', object } };
      } else {
        const object = this.decode(event.kv);
        view = { current: object, unfiltered: { type: event.type === 'create' ? 'ADDED' : 'MODIFIED', object } };
      }
      this.eventViews.set(event, view);
    }
    return view;
  }

  /** The content before the write, at the write's revision (what a selector watch's DELETED carries). */
  private previousOf(event: WatchEvent, view: EventView): KubeObject {
    if (!view.previous) {
      view.previous = this.decode(event.prevKv!);
      view.previous.metadata.resourceVersion = String(event.revision);
    }
    return view.previous;
  }

  private translateEvent(event: WatchEvent, filter?: ObjectFilter): WatchEventOut | undefined {
    const view = this.view(event);
    if (!filter) return view.unfiltered;
    if (event.type === 'delete') return filter(view.current) ? view.unfiltered : undefined;
    const matchesNow = filter(view.current);
    const matchedBefore = event.prevKv ? filter(this.previousOf(event, view)) : false;
    if (matchesNow) {
      // Still matching, or newly created: the same event as without a selector.
      if (matchedBefore || event.type === 'create') return view.unfiltered;
      return { type: 'ADDED', object: view.current };
    }
    // Upstream sends the last content that matched, at the new revision.
    if (matchedBefore) return { type: 'DELETED', object: this.previousOf(event, view) };
    return undefined;
  }
}

interface EventView {
  current: KubeObject;
  /** The event for a watcher without selectors (shared, so its JSON can be shared too). */
  unfiltered: WatchEventOut;
  previous?: KubeObject;
}

/** Server-set metadata of a new object: name from generateName, uid, timestamp (generation is the strategy's). */
export function initializeObjectMeta(meta: ObjectMeta): void {
  if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
  meta.uid = randomUUID();
  meta.creationTimestamp = nowIso();
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
}

export const nowTimestamp = nowIso;

/** RFC 3339 (whole seconds) `seconds` from now: a graceful deletion's deadline. */
export function timestampAfter(seconds: number): string {
  if (seconds <= 0) return nowIso();
  return new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

/** Five characters from the alphabet upstream uses for generateName (no vowels, no confusables). */
export function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 5; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}

/**
 * What a LIST's resourceVersion and resourceVersionMatch ask for (upstream's
 * ListOptions validation): an exact snapshot, a snapshot not older than a
 * revision ("0" = any), or, when neither, the latest (a consistent read).
 */
function listResourceVersion(request: ListRequest): { exact?: number; notOlderThan?: number } {
  const rv = request.resourceVersion ?? '';
  const match = request.resourceVersionMatch ?? '';
  const invalid = (cause: StatusCause) => errors.invalid({ kind: 'ListOptions', group: 'meta.k8s.io', name: '', causes: [cause] });
  if (match && !rv) throw invalid({ reason: 'FieldValueForbidden', field: 'resourceVersionMatch', message: 'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided' });
  if (match && request.continueToken) throw invalid({ reason: 'FieldValueForbidden', field: 'resourceVersionMatch', message: 'Forbidden: resourceVersionMatch is forbidden when continue is provided' });
  if (match && match !== 'Exact' && match !== 'NotOlderThan') {
    throw invalid({ reason: 'FieldValueNotSupported', field: 'resourceVersionMatch', message: `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"` });
  }
  if (!rv) return {};
  if (!/^\d+$/.test(rv)) throw errors.badRequest(`invalid resource version: ${rv}`);
  if (request.continueToken) {
    if (rv !== '0') throw errors.badRequest('specifying resource version is not allowed when using continue');
    return {};
  }
  if (match === 'Exact') {
    if (rv === '0') throw invalid({ reason: 'FieldValueForbidden', field: 'resourceVersionMatch', message: 'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"' });
    return { exact: Number(rv) };
  }
  return { notOlderThan: Number(rv) };
}

/** Upstream's answer to a resourceVersion the store has not reached (within the cache's wait). */
function tooLargeResourceVersion(wanted: number, current: number): ApiError {
  return new ApiError({
    code: 504, reason: 'Timeout', message: `Timeout: Too large resource version: ${wanted}, current: ${current}`,
    details: { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 },
  });
}

interface ContinueToken {
  after: string;
  revision: number;
}
function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.revision, start: token.after })).toString('base64url');
}
function decodeContinue(text: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof parsed.rv !== 'number' || typeof parsed.start !== 'string') throw new Error('bad token');
    return { after: parsed.start, revision: parsed.rv };
  } catch {
    throw errors.badRequest('continue key is not valid: illegal base64 data or malformed token');
  }
}

/** Whether a write of `object` removes it: marked for deletion, no finalizers left, no grace time left. */
export function isDueForRemoval(info: ResourceInfo, object: KubeObject): boolean {
  const meta = object.metadata;
  return !!meta.deletionTimestamp && !(meta.finalizers?.length) && !meta.deletionGracePeriodSeconds && !hasNamespaceFinalizers(info, object);
}

/** A namespace whose spec.finalizers is not empty yet (upstream's namespace store keeps it). */
function hasNamespaceFinalizers(info: ResourceInfo, object: KubeObject): boolean {
  if (info.kind !== 'Namespace' || info.group !== '') return false;
  const finalizers = (object.spec as { finalizers?: unknown[] } | undefined)?.finalizers;
  return Array.isArray(finalizers) && finalizers.length > 0;
}
