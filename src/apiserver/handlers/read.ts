// GET of one object, LIST and WATCH, with label/field selectors, paging,
// and the Table / PartialObjectMetadata renderings kubectl asks for.
import { fieldSelectorMatcher, parseFieldSelector, parseLabelSelector, SelectorError } from '../../api/selectors/index.ts';
import { errors } from '../errors.ts';
import { sendJson } from '../http/respond.ts';
import type { KubeObject, ObjectFilter } from '../registry/resource-store.ts';
import { indexHintForQuery } from '../registry/watch-cache.ts';
import type { RequestContext } from './context.ts';
import { negotiateRendering, renderList, renderObject } from './render.ts';
import { serveWatch } from './watch.ts';
import { requireVerb } from './write.ts';

/** The label+field selector predicate of a list/watch/deletecollection request. */
export function listFilter(ctx: RequestContext): ObjectFilter | undefined {
  const labelText = ctx.query.get('labelSelector') ?? '';
  const fieldText = ctx.query.get('fieldSelector') ?? '';
  try {
    const filters: ObjectFilter[] = [];
    if (labelText.trim()) {
      const selector = parseLabelSelector(labelText);
      filters.push((o) => selector.matches(o.metadata.labels));
    }
    if (fieldText.trim()) {
      const selector = parseFieldSelector(fieldText);
      const match = fieldSelectorMatcher(selector, { kind: ctx.resource.kind, group: ctx.resource.group });
      filters.push((o) => match(o));
    }
    if (filters.length === 0) return undefined;
    return (o) => filters.every((f) => f(o));
  } catch (error) {
    if (error instanceof SelectorError) throw errors.badRequest(error.message);
    throw error;
  }
}

export async function handleGet(ctx: RequestContext): Promise<void> {
  const { resource, info, parts } = ctx;
  requireVerb(resource, 'get');
  const object = await parts.store.get(resource, info.namespace, info.name!);
  const rendering = negotiateRendering(ctx);
  sendJson(ctx.res, 200, renderObject(ctx, rendering, object), rendering.contentType);
}

export async function handleList(ctx: RequestContext): Promise<void> {
  const { resource, info, parts, query } = ctx;
  requireVerb(resource, 'list');
  const limitText = query.get('limit');
  const limit = limitText ? Number(limitText) : undefined;
  if (limitText && (!Number.isInteger(limit) || limit! < 0)) throw errors.badRequest(`invalid limit: ${limitText}`);
  const rendering = negotiateRendering(ctx);
  const result = await parts.store.list(resource, {
    namespace: info.namespace,
    filter: listFilter(ctx),
    index: indexHintForQuery(resource, query),
    limit,
    continueToken: query.get('continue') ?? undefined,
    resourceVersion: query.get('resourceVersion') ?? undefined,
    resourceVersionMatch: query.get('resourceVersionMatch') ?? undefined,
  });
  sendJson(ctx.res, 200, renderList(ctx, rendering, result), rendering.contentType);
}

export async function handleWatch(ctx: RequestContext): Promise<void> {
  requireVerb(ctx.resource, 'watch');
  await serveWatch(ctx, listFilter(ctx));
}

export type { KubeObject };
