// PUT namespaces/NAME/finalize: the one way to change a namespace's
// spec.finalizers (a plain update keeps them, as upstream). The body is a
// Namespace; only its spec.finalizers are taken. A namespace marked for
// deletion whose last finalizer (spec and metadata) goes is removed by the
// write itself (see ResourceStore.update), which is how the namespace
// controller finishes a deletion.
import { validateObject, statusCauses } from '../../api/validation/index.ts';
import { errors } from '../errors.ts';
import { sendJson } from '../http/respond.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import { groupResource, isDryRun, type RequestContext } from './context.ts';
import { checkIdentity, readObject } from './input.ts';
import { requireVerb } from './write.ts';

interface NamespaceSpec {
  finalizers?: unknown;
}

export async function handleNamespaceFinalize(ctx: RequestContext): Promise<void> {
  const { resource, info, parts } = ctx;
  requireVerb(resource, 'update');
  const body = await readObject(ctx, { apiVersion: resource.apiVersion, kind: resource.kind });
  checkIdentity(ctx, body, resource, info.name);
  const old = await parts.store.get(resource, undefined, info.name!);
  const requested = body.metadata.resourceVersion;
  if (requested && requested !== old.metadata.resourceVersion) {
    throw errors.conflict(groupResource(resource), info.name!, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  if (body.metadata.uid && body.metadata.uid !== old.metadata.uid) {
    throw errors.conflict(groupResource(resource), info.name!, `Precondition failed: UID in precondition: ${body.metadata.uid}, UID in object meta: ${old.metadata.uid}`);
  }
  const finalizers = (body.spec as NamespaceSpec | undefined)?.finalizers;
  if (finalizers !== undefined && finalizers !== null && !Array.isArray(finalizers)) throw errors.badRequest('spec.finalizers must be a list of strings');
  const next: KubeObject = structuredClone(old);
  next.spec = { ...(next.spec as object), finalizers: (finalizers ?? []) as string[] };
  const problems = validateObject({ group: resource.group, version: resource.version, kind: resource.kind, object: next, oldObject: old });
  if (problems.length) throw errors.invalid({ kind: resource.kind, group: resource.group, name: info.name!, causes: statusCauses(problems) });
  const unchanged = JSON.stringify((old.spec as NamespaceSpec | undefined)?.finalizers ?? []) === JSON.stringify(finalizers ?? []);
  if (unchanged || isDryRun(ctx.query)) {
    sendJson(ctx.res, 200, unchanged ? old : next);
    return;
  }
  const written = await parts.store.update(resource, next, Number(old.metadata.resourceVersion));
  sendJson(ctx.res, 200, written);
}
