// The `scale` subresource (autoscaling/v1 Scale) of Deployments, ReplicaSets,
// StatefulSets and ReplicationControllers: read replicas and selector, write
// spec.replicas through the parent's update pipeline.
import { selectorFromLabelSelector } from '../../api/selectors/index.ts';
import { errors } from '../errors.ts';
import { decodeStructured, mediaType, readBody } from '../http/body.ts';
import { sendJson } from '../http/respond.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { RequestContext } from './context.ts';
import { checkKind } from './input.ts';
import { applyPatch } from './patch.ts';
import { updateObject } from './write.ts';

interface Scale extends KubeObject {
  spec: { replicas?: number };
  status: { replicas: number; selector?: string };
}

function selectorText(parent: KubeObject): string | undefined {
  const spec = parent.spec as { selector?: unknown };
  if (!spec?.selector) return undefined;
  // ReplicationControllers use a plain label map; apps/v1 kinds a LabelSelector.
  const selector = spec.selector as { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  const object = selector.matchLabels || selector.matchExpressions ? selector : { matchLabels: spec.selector as Record<string, string> };
  try {
    return selectorFromLabelSelector(object as never).toString();
  } catch {
    return undefined;
  }
}

function toScale(parent: KubeObject): Scale {
  const meta = parent.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion, creationTimestamp: meta.creationTimestamp },
    spec: { replicas: (parent.spec as { replicas?: number })?.replicas ?? 0 },
    status: { replicas: (parent.status as { replicas?: number })?.replicas ?? 0, selector: selectorText(parent) },
  };
}

export async function handleScale(ctx: RequestContext): Promise<void> {
  const { resource, info, parts, req } = ctx;
  if (!resource.subresources.scale) throw errors.notFound({ group: resource.group, resource: `${resource.plural}/scale` }, info.name!);
  const parent = await parts.store.get(resource, info.namespace, info.name!);
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'GET') {
    sendJson(ctx.res, 200, toScale(parent));
    return;
  }
  let scale: KubeObject;
  if (method === 'PUT') {
    scale = checkKind(decodeStructured(await readBody(req), 'application/json') as Record<string, unknown>, { apiVersion: 'autoscaling/v1', kind: 'Scale' });
  } else if (method === 'PATCH') {
    const type = mediaType(req.headers['content-type']);
    const kind = type === 'application/json-patch+json' ? 'json' : type === 'application/merge-patch+json' ? 'merge' : type === 'application/strategic-merge-patch+json' ? 'merge' : undefined;
    if (!kind) throw errors.unsupportedMediaType(type);
    scale = applyPatch(ctx, kind, toScale(parent), decodeStructured(await readBody(req), 'application/json'));
  } else {
    throw errors.methodNotAllowed();
  }
  const replicas = (scale.spec as { replicas?: unknown })?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw errors.invalid({ kind: 'Scale', group: 'autoscaling', name: info.name!, causes: [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }] });
  }
  const next: KubeObject = structuredClone(parent);
  (next.spec as { replicas?: number }).replicas = replicas;
  next.metadata.resourceVersion = scale.metadata.resourceVersion || parent.metadata.resourceVersion;
  const updated = await updateObject(ctx, { next, old: parent, status: false });
  sendJson(ctx.res, 200, toScale(updated));
}
