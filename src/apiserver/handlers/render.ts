// Response renderings chosen by the Accept header: the object itself, a
// meta.k8s.io/v1 Table (what `kubectl get` prints), or PartialObjectMetadata.
import { printTable } from '../../api/printers/index.ts';
import { errors } from '../errors.ts';
import type { KubeObject, ListResponse } from '../registry/resource-store.ts';
import type { RequestContext } from './context.ts';

export interface Rendering {
  as: 'Object' | 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList';
  contentType: string;
  /** Table rows carry: None, Metadata (default) or the whole Object. */
  includeObject: 'None' | 'Metadata' | 'Object';
}

const META_GROUP = 'meta.k8s.io';

export function negotiateRendering(ctx: RequestContext): Rendering {
  const accept = String(ctx.req.headers.accept ?? '');
  const includeParam = ctx.query.get('includeObject');
  const includeObject = includeParam === 'None' || includeParam === 'Object' ? includeParam : 'Metadata';
  if (!accept) return { as: 'Object', contentType: 'application/json', includeObject };
  let sawSupported = false;
  for (const entry of accept.split(',')) {
    const [type, ...paramList] = entry.split(';').map((p) => p.trim());
    const params = Object.fromEntries(paramList.map((p) => p.split('=').map((s) => s.trim())));
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*') {
      continue;
    }
    sawSupported = true;
    if (!params.as) return { as: 'Object', contentType: 'application/json', includeObject };
    if (params.g !== META_GROUP || (params.v !== 'v1' && params.v !== 'v1beta1')) continue;
    if (params.as === 'Table' || params.as === 'PartialObjectMetadata' || params.as === 'PartialObjectMetadataList') {
      return { as: params.as, contentType: `application/json;as=${params.as};v=${params.v};g=${META_GROUP}`, includeObject };
    }
  }
  // Only protobuf (or an unknown rendering) was asked for: answer JSON, which every client decodes.
  if (!sawSupported && /protobuf|yaml/.test(accept)) return { as: 'Object', contentType: 'application/json', includeObject };
  if (!sawSupported) throw errors.notAcceptable(`only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io`);
  return { as: 'Object', contentType: 'application/json', includeObject };
}

function partialMetadata(object: KubeObject, apiVersion = 'meta.k8s.io/v1') {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: object.metadata };
}

/** A Table for some objects; `withColumns` false omits the column definitions (watch events after the first). */
export function tableFor(ctx: RequestContext, rendering: Rendering, objects: KubeObject[], listMeta: Record<string, unknown>, withColumns = true) {
  // Always the wide table: kubectl hides priority-1 columns itself unless -o wide.
  const table = printTable({ group: ctx.resource.group, kind: ctx.resource.kind, objects, wide: true });
  const rows = table.rows.map((row, i) => ({
    cells: row.cells,
    ...(rendering.includeObject === 'None' ? {} : { object: rendering.includeObject === 'Object' ? objects[i] : partialMetadata(objects[i]) }),
  }));
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    ...(withColumns ? { columnDefinitions: table.columnDefinitions } : { columnDefinitions: null }),
    rows,
  };
}

export function renderObject(ctx: RequestContext, rendering: Rendering, object: KubeObject): unknown {
  switch (rendering.as) {
    case 'Table': return tableFor(ctx, rendering, [object], { resourceVersion: object.metadata.resourceVersion });
    case 'PartialObjectMetadata':
    case 'PartialObjectMetadataList': return partialMetadata(object);
    default: return object;
  }
}

export function renderList(ctx: RequestContext, rendering: Rendering, list: ListResponse): unknown {
  const metadata: Record<string, unknown> = { resourceVersion: list.resourceVersion };
  if (list.continueToken) metadata.continue = list.continueToken;
  if (list.remainingItemCount !== undefined) metadata.remainingItemCount = list.remainingItemCount;
  switch (rendering.as) {
    case 'Table': return tableFor(ctx, rendering, list.items, metadata);
    case 'PartialObjectMetadata':
    case 'PartialObjectMetadataList':
      return { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata, items: list.items.map((o) => partialMetadata(o)) };
    default:
      return { kind: ctx.resource.listKind, apiVersion: ctx.resource.apiVersion, metadata, items: list.items };
  }
}
