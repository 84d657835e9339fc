// WATCH streams: newline-delimited {"type","object"} events over a chunked
// (HTTP/1.1) or streamed (HTTP/2) response. Starts from a resourceVersion, or
// from "now" after sending the current state as ADDED events; BOOKMARK events
// when asked; ERROR with a 410 Status when the version is compacted; ends at
// timeoutSeconds or when the client goes away.
import { once } from 'node:events';
import { ApiError, errors } from '../errors.ts';
import type { KubeObject, ObjectFilter } from '../registry/resource-store.ts';
import { indexHintForQuery } from '../registry/watch-cache.ts';
import { parseBool } from '../request-info.ts';
import type { RequestContext } from './context.ts';
import { negotiateRendering, tableFor, type Rendering } from './render.ts';

const BOOKMARK_INTERVAL_MS = 30_000;
/** Upstream closes watches after a randomized 30–60 minutes so clients spread their re-lists. */
const DEFAULT_TIMEOUT_S = () => 1800 + Math.floor(Math.random() * 1800);

export async function serveWatch(ctx: RequestContext, filter: ObjectFilter | undefined): Promise<void> {
  const { query, resource, parts, info, res } = ctx;
  const rendering = negotiateRendering(ctx);
  const rvText = query.get('resourceVersion') ?? '';
  const sendInitial = parseBool(query.get('sendInitialEvents'));
  const bookmarks = parseBool(query.get('allowWatchBookmarks'));
  const timeoutText = query.get('timeoutSeconds');
  const timeoutSeconds = timeoutText ? Number(timeoutText) : DEFAULT_TIMEOUT_S();
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) throw errors.badRequest(`invalid timeoutSeconds: ${timeoutText}`);
  if (rvText && rvText !== '0' && !/^\d+$/.test(rvText)) throw errors.badRequest(`invalid resource version: ${rvText}`);
  // A single object watched by name (kubectl delete/wait) narrows the store watch to its key.
  const nameMatch = /^metadata\.name=([^,]+)$/.exec(query.get('fieldSelector') ?? '');
  const name = info.name ?? nameMatch?.[1];

  // Selectors that pin an index value (spec.nodeName=X, app=web) let the watch cache
  // deliver only the matching objects' events instead of every event of the type.
  const index = indexHintForQuery(resource, query);
  let initial: KubeObject[] = [];
  let fromRevision: number;
  if (!rvText || rvText === '0' || sendInitial) {
    // resourceVersion=0: any recent state will do (the cache answers at once); unset: the latest.
    const list = await parts.store.list(resource, { namespace: info.namespace, filter, index, resourceVersion: rvText === '0' ? '0' : undefined });
    initial = name ? list.items.filter((o) => o.metadata.name === name) : list.items;
    fromRevision = Number(list.resourceVersion);
  } else {
    fromRevision = Number(rvText);
  }

  const writer = new EventWriter(ctx, rendering);
  writer.start();
  let watch: ReturnType<typeof parts.store.watch>;
  try {
    watch = parts.store.watch(resource, { namespace: info.namespace, name, filter, index, fromRevision });
  } catch (error) {
    if (error instanceof ApiError && error.code === 410) {
      await writer.write({ type: 'ERROR', object: error.toStatus() });
      res.end();
      return;
    }
    throw error;
  }

  let lastRevision = fromRevision;
  const stop = () => watch.stop();
  const timers: NodeJS.Timeout[] = [setTimeout(stop, timeoutSeconds * 1000)];
  ctx.req.on('close', stop);
  res.on('close', stop);
  try {
    for (const object of initial) await writer.write({ type: 'ADDED', object });
    if (sendInitial) await writer.write(bookmark(resource.apiVersion, resource.kind, String(fromRevision), true));
    if (bookmarks) {
      timers.push(setInterval(() => {
        // The watch cache knows how far this watch is up to date even when none of
        // its objects changed (a later revision than the last event); a store watch does not.
        const revision = Math.max(lastRevision, watch.progress?.() ?? 0);
        writer.write(bookmark(resource.apiVersion, resource.kind, String(revision), false)).catch(stop);
      }, BOOKMARK_INTERVAL_MS));
    }
    for await (const event of watch.events) {
      lastRevision = Number(event.object.metadata.resourceVersion);
      if (!(await writer.write(event))) break;
    }
  } finally {
    for (const t of timers) clearTimeout(t);
    stop();
    if (!res.writableEnded) res.end();
  }
}

function bookmark(apiVersion: string, kind: string, resourceVersion: string, initialEventsEnd: boolean) {
  return {
    type: 'BOOKMARK',
    object: {
      kind, apiVersion,
      metadata: { resourceVersion, ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}) },
    },
  };
}

const serializedEvents = new WeakMap<object, Map<string, string>>();

/** Serializes events onto the response, honouring back-pressure; Table renderings get one row per event. */
class EventWriter {
  private readonly ctx: RequestContext;
  private readonly rendering: Rendering;
  private sentColumns = false;
  constructor(ctx: RequestContext, rendering: Rendering) {
    this.ctx = ctx;
    this.rendering = rendering;
  }

  /**
   * The JSON line of an event. A stored object's line is the same for every
   * watcher with the plain rendering, so it is serialised once (the store
   * shares decoded event objects among watchers).
   */
  private line(type: string, object: unknown, shared: boolean): string {
    if (!shared || this.rendering.as !== 'Object' || typeof object !== 'object' || object === null) {
      return JSON.stringify({ type, object }) + '\n';
    }
    let byType = serializedEvents.get(object);
    if (!byType) serializedEvents.set(object, (byType = new Map()));
    let text = byType.get(type);
    if (text === undefined) byType.set(type, (text = JSON.stringify({ type, object }) + '\n'));
    return text;
  }

  start(): void {
    this.ctx.res.writeHead(200, { 'content-type': this.rendering.contentType, 'cache-control': 'no-cache, private' });
    // Flush headers now so clients see the watch is established before the first event.
    (this.ctx.res as { flushHeaders?: () => void }).flushHeaders?.();
  }

  /** False when the client is gone. */
  async write(event: { type: string; object: unknown }): Promise<boolean> {
    const res = this.ctx.res;
    if (res.destroyed || res.writableEnded) return false;
    let object = event.object;
    if (this.rendering.as === 'Table' && (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED')) {
      object = tableFor(this.ctx, this.rendering, [object as KubeObject], { resourceVersion: (object as KubeObject).metadata.resourceVersion }, !this.sentColumns);
      this.sentColumns = true;
    } else if (this.rendering.as.startsWith('PartialObjectMetadata') && event.type !== 'ERROR' && event.type !== 'BOOKMARK') {
      object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: (object as KubeObject).metadata };
    }
    const ok = (res as { write(chunk: string): boolean }).write(this.line(event.type, object, object === event.object));
    if (!ok) {
      // Whichever of drain/close comes first; the other listener is removed (no pile-up per wait).
      const done = new AbortController();
      const settle = (event: string) => once(res as NodeJS.EventEmitter, event, { signal: done.signal }).catch(() => undefined);
      await Promise.race([settle('drain'), settle('close')]);
      done.abort();
    }
    return !res.destroyed;
  }
}
