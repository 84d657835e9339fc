// DELETE of one object and of a collection, with upstream's semantics:
// - preconditions (uid, resourceVersion), dryRun;
// - graceful deletion of pods (deletionTimestamp in the future, the node's
//   agent finishes it; a repeated DELETE may only shorten the grace period);
// - garbage-collection finalizers from propagationPolicy (or the deprecated
//   orphanDependents): Foreground adds `foregroundDeletion`, Orphan adds
//   `orphan`, Background adds neither (the garbage collector then removes
//   the dependents of an owner already gone). Without a policy the object's
//   own finalizers decide, then the kind's default (Orphan for v1
//   ReplicationControllers and batch/v1 Jobs, else Background). An object
//   already being deleted may still switch between them;
// - objects with finalizers (and namespaces, which carry spec.finalizers) are
//   only marked with a deletionTimestamp; they disappear when the last
//   finalizer is removed (ResourceStore.update does that).
import { isDeepStrictEqual } from 'node:util';
import type { ResourceInfo } from '../../api/registry.ts';
import { errors } from '../errors.ts';
import { decodeObjectBody, readBody } from '../http/body.ts';
import { addWarning, sendJson } from '../http/respond.ts';
import { nowTimestamp, timestampAfter, type KubeObject } from '../registry/resource-store.ts';
import { groupResource, isDryRun, type RequestContext } from './context.ts';
import { listFilter } from './read.ts';
import { requireVerb } from './write.ts';

interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  /** Deprecated: true is propagationPolicy Orphan, false is Background. */
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

const FOREGROUND_FINALIZER = 'foregroundDeletion';
const ORPHAN_FINALIZER = 'orphan';
const POLICIES = ['Foreground', 'Background', 'Orphan'];

/** Upstream's warning when a batch/v1 Job is deleted without a policy (its pods are kept). */
const JOB_ORPHAN_WARNING = 'child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning';

async function readDeleteOptions(ctx: RequestContext): Promise<DeleteOptions> {
  const body = await readBody(ctx.req);
  const options: DeleteOptions = body.length ? (decodeObjectBody(body, 'application/json') as DeleteOptions) : {};
  const grace = ctx.query.get('gracePeriodSeconds');
  if (grace !== null) options.gracePeriodSeconds = Number(grace);
  const propagation = ctx.query.get('propagationPolicy');
  if (propagation) options.propagationPolicy = propagation;
  const orphan = ctx.query.get('orphanDependents');
  if (orphan !== null && orphan !== '') options.orphanDependents = orphan === 'true';
  validateDeleteOptions(options);
  return options;
}

/** Upstream's ValidateDeleteOptions: 422 on DeleteOptions.meta.k8s.io. */
function validateDeleteOptions(options: DeleteOptions): void {
  const policy = options.propagationPolicy;
  const causes = [];
  if (options.orphanDependents !== undefined && options.orphanDependents !== null && policy !== undefined && policy !== null) {
    causes.push({ reason: 'FieldValueInvalid', field: 'propagationPolicy', message: `Invalid value: "${policy}": orphanDependents and deletionPropagation cannot be both set` });
  }
  if (policy !== undefined && policy !== null && !POLICIES.includes(policy)) {
    causes.push({ reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"` });
  }
  if (causes.length) throw errors.invalid({ kind: 'DeleteOptions', group: 'meta.k8s.io', name: '', causes });
}

/** The garbage-collection policy of a kind when a DELETE names none (upstream's DefaultGarbageCollectionPolicy). */
function defaultOrphans(resource: ResourceInfo): boolean {
  const { group, version, kind } = resource;
  return (group === '' && version === 'v1' && kind === 'ReplicationController') || (group === 'batch' && version === 'v1' && kind === 'Job');
}

function warnIfJobOrphansByDefault(ctx: RequestContext, options: DeleteOptions): void {
  const explicit = (options.propagationPolicy ?? undefined) !== undefined || (options.orphanDependents ?? undefined) !== undefined;
  if (!explicit && ctx.resource.kind === 'Job' && defaultOrphans(ctx.resource)) addWarning(ctx.res, JOB_ORPHAN_WARNING);
}

/**
 * The finalizers an object gets from a DELETE: the options decide, then the
 * object's own orphan / foregroundDeletion finalizer, then the kind's default
 * (upstream's deletionFinalizersForGarbageCollection).
 */
export function finalizersForDeletion(resource: ResourceInfo, existing: readonly string[], options: DeleteOptions): { changed: boolean; finalizers: string[] } {
  const orphanFlag = options.orphanDependents ?? undefined;
  const policy = options.propagationPolicy ?? undefined;
  const has = (f: string) => existing.includes(f);
  const fromObject = has(ORPHAN_FINALIZER) ? 'Orphan' : has(FOREGROUND_FINALIZER) ? 'Foreground' : undefined;
  let orphan: boolean;
  let foreground: boolean;
  if (orphanFlag !== undefined) {
    orphan = orphanFlag;
    foreground = false;
  } else if (policy !== undefined) {
    orphan = policy === 'Orphan';
    foreground = policy === 'Foreground';
  } else if (fromObject) {
    orphan = fromObject === 'Orphan';
    foreground = fromObject === 'Foreground';
  } else {
    orphan = defaultOrphans(resource);
    foreground = false;
  }
  const finalizers = existing.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
  if (orphan) finalizers.push(ORPHAN_FINALIZER);
  if (foreground) finalizers.push(FOREGROUND_FINALIZER);
  const changed = new Set(existing).size !== new Set(finalizers).size || finalizers.some((f) => !existing.includes(f));
  return { changed, finalizers };
}

export async function handleDelete(ctx: RequestContext): Promise<void> {
  requireVerb(ctx.resource, 'delete');
  if (ctx.info.subresource) throw errors.methodNotAllowed();
  const options = await readDeleteOptions(ctx);
  warnIfJobOrphansByDefault(ctx, options);
  const current = await ctx.parts.store.get(ctx.resource, ctx.info.namespace, ctx.info.name!);
  const { body, deleted } = await deleteOne(ctx, current, options);
  // Upstream answers 202 when a cascading deletion (orphanDependents=false) is still under way.
  sendJson(ctx.res, !deleted && options.orphanDependents === false ? 202 : 200, body);
}

/** Delete (or mark for deletion) one object; returns the response body. */
export async function deleteObject(ctx: RequestContext, current: KubeObject, options: DeleteOptions): Promise<unknown> {
  return (await deleteOne(ctx, current, options)).body;
}

/** How a pod's deletion proceeds (upstream's BeforeDelete). */
type Grace =
  /** Not a pod, or a pod already marked without grace: finalizers decide. */
  | { kind: 'none' }
  /** A pod in graceful termination that this request does not shorten: nothing changes. */
  | { kind: 'pending' }
  | { kind: 'graceful'; seconds: number; deletionTimestamp: string; firstMark: boolean };

function podGrace(current: KubeObject, options: DeleteOptions): Grace {
  const meta = current.metadata;
  // A negative grace period counts as one second.
  const asked = options.gracePeriodSeconds ?? undefined;
  const requested = asked === undefined ? undefined : asked < 0 ? 1 : asked;
  if (meta.deletionTimestamp) {
    const pending = meta.deletionGracePeriodSeconds ?? 0;
    if (pending <= 0) return { kind: 'none' };
    if (requested === undefined || requested >= pending) return { kind: 'pending' };
    const at = Date.parse(meta.deletionTimestamp) - pending * 1000 + requested * 1000;
    return { kind: 'graceful', seconds: requested, deletionTimestamp: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'), firstMark: false };
  }
  const seconds = gracePeriodFor(current, requested);
  return { kind: 'graceful', seconds, deletionTimestamp: timestampAfter(seconds), firstMark: true };
}

async function deleteOne(ctx: RequestContext, current: KubeObject, options: DeleteOptions): Promise<{ body: unknown; deleted: boolean }> {
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
  const isPod = resource.kind === 'Pod' && resource.group === '';
  const isNamespace = resource.kind === 'Namespace' && resource.group === '';
  const grace: Grace = isPod ? podGrace(current, options) : { kind: 'none' };
  // Already terminating gracefully: finalizers cannot change through a DELETE any more.
  if (grace.kind === 'pending') return { body: current, deleted: false };
  const { changed, finalizers } = finalizersForDeletion(resource, meta.finalizers ?? [], options);
  const namespaceFinalizers = isNamespace && ((current.spec as { finalizers?: string[] })?.finalizers?.length ?? 0) > 0;
  const pendingFinalizers = finalizers.length > 0 || namespaceFinalizers;
  const deleteNow = !pendingFinalizers && (grace.kind === 'none' || grace.seconds === 0);
  if (!deleteNow) {
    const marked: KubeObject = structuredClone(current);
    const markedMeta = marked.metadata;
    if (changed) {
      if (finalizers.length) markedMeta.finalizers = finalizers;
      else delete markedMeta.finalizers;
    }
    // Controllers must notice that the object is going: a first mark bumps the generation.
    const firstMark = grace.kind === 'graceful' ? grace.firstMark : !meta.deletionTimestamp;
    if (firstMark && (meta.generation ?? 0) > 0) markedMeta.generation = meta.generation! + 1;
    if (grace.kind === 'graceful') {
      markedMeta.deletionTimestamp = grace.deletionTimestamp;
      markedMeta.deletionGracePeriodSeconds = grace.seconds;
    } else {
      // Finalizers only: deleted "now", as soon as they are gone (never later than before).
      if (!meta.deletionTimestamp || Date.parse(meta.deletionTimestamp) > Date.now()) markedMeta.deletionTimestamp = nowTimestamp();
      markedMeta.deletionGracePeriodSeconds = 0;
    }
    if (isNamespace) marked.status = { ...(marked.status as object), phase: 'Terminating' };
    if (isDeepStrictEqual(marked, current)) return { body: current, deleted: false };
    if (dryRun) return { body: marked, deleted: false };
    return { body: await parts.store.update(resource, marked, Number(meta.resourceVersion)), deleted: false };
  }
  if (!dryRun) {
    await parts.store.delete(resource, meta.namespace, meta.name!, Number(meta.resourceVersion));
    parts.strategy.afterDelete(resource, current);
  }
  return {
    deleted: true,
    body: {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
      details: { name: meta.name, group: resource.group || undefined, kind: resource.plural, uid: meta.uid },
    },
  };
}

/**
 * Seconds a pod gets to terminate: the request's gracePeriodSeconds, else the
 * pod's terminationGracePeriodSeconds; 0 (immediate) for pods no node runs
 * (unscheduled) and for finished pods, as upstream.
 */
function gracePeriodFor(pod: KubeObject, requested: number | undefined): number {
  const spec = (pod.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  return Math.max(0, requested ?? spec.terminationGracePeriodSeconds ?? 30);
}

export async function handleDeleteCollection(ctx: RequestContext): Promise<void> {
  requireVerb(ctx.resource, 'deletecollection');
  const options = await readDeleteOptions(ctx);
  warnIfJobOrphansByDefault(ctx, options);
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
