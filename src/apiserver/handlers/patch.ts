// PATCH on a resource or its status: JSON patch, JSON merge patch, strategic
// merge patch. The patch is applied to the current object and the result goes
// through the update pipeline; when the patch names no resourceVersion a
// conflicting concurrent write is retried, as upstream does.
import { kindSchema } from '../../api/schema/facts.ts';
import { errors } from '../errors.ts';
import { decodeStructured, mediaType, readBody } from '../http/body.ts';
import { addWarning, sendJson } from '../http/respond.ts';
import { applyJsonPatch } from '../patch/json-patch.ts';
import { applyMergePatch } from '../patch/merge-patch.ts';
import { applyStrategicMergePatch } from '../patch/strategic-merge-patch.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { RequestContext } from './context.ts';
import { checkKind } from './input.ts';
import { handleApply } from './apply.ts';
import { checkWriteOptions, fieldValidationMode, requireVerb, updateObject } from './write.ts';

const MAX_ATTEMPTS = 5;

type PatchKind = 'json' | 'merge' | 'strategic' | 'apply';

function patchKind(contentType: string): PatchKind {
  switch (contentType) {
    case 'application/json-patch+json': return 'json';
    case 'application/merge-patch+json': return 'merge';
    case 'application/strategic-merge-patch+json': return 'strategic';
    case 'application/apply-patch+yaml': return 'apply';
    default:
      throw errors.unsupportedMediaType(contentType);
  }
}

/** Apply a decoded patch document of a given kind to an object (a fresh copy is returned). */
export function applyPatch(ctx: RequestContext, kind: Exclude<PatchKind, 'apply'>, current: KubeObject, patch: unknown): KubeObject {
  const { resource } = ctx;
  if (kind === 'json') return applyJsonPatch(current, patch) as KubeObject;
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw errors.badRequest('the patch must be a JSON object');
  }
  if (kind === 'merge') return applyMergePatch(current, patch) as KubeObject;
  const schema = kindSchema({ group: resource.group, version: resource.version, kind: resource.kind });
  return applyStrategicMergePatch(current, patch, schema) as KubeObject;
}

export async function handlePatch(ctx: RequestContext): Promise<void> {
  const { resource, info, parts } = ctx;
  const subresource = info.subresource;
  if (subresource && subresource !== 'status') throw errors.methodNotAllowed();
  requireVerb(resource, 'patch');
  const type = mediaType(ctx.req.headers['content-type']);
  const kind = patchKind(type);
  if (kind === 'apply') return handleApply(ctx);
  checkWriteOptions(ctx, 'PatchOptions');
  const patch = decodeStructured(await readBody(ctx.req), 'application/json');
  const mode = fieldValidationMode(ctx.query);
  for (let attempt = 1; ; attempt++) {
    const current = await parts.store.get(resource, info.namespace, info.name!);
    const patched = applyPatch(ctx, kind, structuredClone(current), patch);
    const next = checkKind(patched as Record<string, unknown>, { apiVersion: resource.apiVersion, kind: resource.kind });
    if (next.metadata.name !== current.metadata.name) {
      throw errors.badRequest(`the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${info.name})`);
    }
    if (attempt === 1) for (const warning of parts.strategy.checkSchema(resource, next, mode)) addWarning(ctx.res, warning);
    const patchSetVersion = next.metadata.resourceVersion !== current.metadata.resourceVersion;
    try {
      const updated = await updateObject(ctx, { next, old: current, status: subresource === 'status' });
      sendJson(ctx.res, 200, updated);
      return;
    } catch (error) {
      const conflict = (error as { reason?: string }).reason === 'Conflict';
      if (!conflict || patchSetVersion || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}
