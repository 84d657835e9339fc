// DELETE of one object and of a collection. Objects with finalizers (and
// namespaces, which carry spec.finalizers) are only marked with a
// deletionTimestamp; they disappear when the last finalizer is removed.
import { errors } from '../errors.ts';
import { decodeObjectBody, readBody } from '../http/body.ts';
import { sendJson } from '../http/respond.ts';
import { timestampAfter, type KubeObject } from '../registry/resource-store.ts';
import { groupResource, isDryRun, type RequestContext } from './context.ts';
import { listFilter } from './read.ts';
import { requireVerb } from './write.ts';

interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

async function readDeleteOptions(ctx: RequestContext): Promise<DeleteOptions> {
  const body = await readBody(ctx.req);
  const options: DeleteOptions = body.length ? (decodeObjectBody(body, 'application/json') as DeleteOptions) : {};
  const grace = ctx.query.get('gracePeriodSeconds');
  if (grace !== null) options.gracePeriodSeconds = Number(grace);
  const propagation = ctx.query.get('propagationPolicy');
  if (propagation) options.propagationPolicy = propagation;
  if (options.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(options.propagationPolicy)) {
    throw errors.badRequest(`propagationPolicy: Unsupported value: "${options.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`);
  }
  return options;
}

export async function handleDelete(ctx: RequestContext): Promise<void> {
  requireVerb(ctx.resource, 'delete');
  if (ctx.info.subresource) throw errors.methodNotAllowed();
  const options = await readDeleteOptions(ctx);
  const current = await ctx.parts.store.get(ctx.resource, ctx.info.namespace, ctx.info.name!);
  const result = await deleteObject(ctx, current, options);
  sendJson(ctx.res, 200, result);
}

/** Delete (or mark for deletion) one object; returns the response body. */
async function deleteObject(ctx: RequestContext, current: KubeObject, options: DeleteOptions): Promise<unknown> {
  const { resource, parts } = ctx;
  const meta = current.metadata;
  const pre = options.preconditions;
  if (pre?.uid && pre.uid !== meta.uid) {
    throw errors.conflict(groupResource(resource), meta.name!, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`);
  }
  if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion) {
    throw errors.conflict(groupResource(resource), meta.name!, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`);
  }
  const dryRun = isDryRun(ctx.query);
  const isNamespace = resource.kind === 'Namespace' && resource.group === '';
  const hasFinalizers = (meta.finalizers?.length ?? 0) > 0 || (isNamespace && ((current.spec as { finalizers?: string[] })?.finalizers?.length ?? 0) > 0);
  const grace = gracePeriodFor(resource.kind === 'Pod' && resource.group === '' ? current : undefined, options);
  if (hasFinalizers || grace > 0) {
    // Marked, not removed: finalizers must be removed first, or the node's agent
    // finishes a graceful pod termination (and deletes it with grace 0).
    if (dryRun) return current;
    // Already marked: only a shorter grace period changes anything.
    if (meta.deletionTimestamp && grace >= (meta.deletionGracePeriodSeconds ?? 0)) return current;
    const marked: KubeObject = structuredClone(current);
    marked.metadata.deletionTimestamp = timestampAfter(grace);
    marked.metadata.deletionGracePeriodSeconds = grace;
    if (isNamespace) marked.status = { ...(marked.status as object), phase: 'Terminating' };
    return parts.store.update(resource, marked, Number(meta.resourceVersion));
  }
  if (!dryRun) {
    await parts.store.delete(resource, meta.namespace, meta.name!, Number(meta.resourceVersion));
    parts.strategy.afterDelete(resource, current);
  }
  return {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
    details: { name: meta.name, group: resource.group || undefined, kind: resource.plural, uid: meta.uid },
  };
}

/**
 * Seconds a pod gets to terminate: the request's gracePeriodSeconds, else the
 * pod's terminationGracePeriodSeconds; 0 (immediate) for everything that is not
 * a pod, for pods no node runs (unscheduled) and for finished pods, as upstream.
 */
function gracePeriodFor(pod: KubeObject | undefined, options: DeleteOptions): number {
  if (!pod) return 0;
  const spec = (pod.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  const requested = options.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
  return Math.max(0, requested);
}

export async function handleDeleteCollection(ctx: RequestContext): Promise<void> {
  requireVerb(ctx.resource, 'deletecollection');
  const options = await readDeleteOptions(ctx);
  const list = await ctx.parts.store.list(ctx.resource, { namespace: ctx.info.namespace, filter: listFilter(ctx) });
  const items: unknown[] = [];
  for (const listed of list.items) {
    let object = listed;
    for (let attempt = 1; ; attempt++) {
      try {
        await deleteObject(ctx, object, options);
        items.push(object);
        break;
      } catch (error) {
        const code = (error as { code?: number }).code;
        // Deleted meanwhile: fine. Changed meanwhile: delete what is there now (a few times at most).
        if (code === 404) break;
        if (code !== 409 || attempt >= 3) throw error;
        try {
          object = await ctx.parts.store.get(ctx.resource, listed.metadata.namespace, listed.metadata.name!);
        } catch {
          break;
        }
      }
    }
  }
  sendJson(ctx.res, 200, { kind: ctx.resource.listKind, apiVersion: ctx.resource.apiVersion, metadata: {}, items });
}
