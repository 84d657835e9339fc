// Create, update (PUT) and the status subresource's update, with upstream
// semantics: NamespaceLifecycle admission, defaulting, fieldValidation,
// validation, optimistic concurrency, no-op updates that write nothing, dryRun.
import { isDeepStrictEqual } from "node:util";
import type { ResourceInfo } from '../../api/registry.ts';
import { kindSchema } from '../../api/schema/facts.ts';
import { fieldManagerOptionsError, managedFieldsTime, requestFieldManager, updateManagedFields } from '../apply/managed-fields.ts';
import { restoreManagedFieldsTimestamps } from '../apply/managers.ts';
import type { AdmissionAttributes } from '../admission/chain.ts';
import { errors } from '../errors.ts';
import { addWarning, sendJson } from '../http/respond.ts';
import { initializeObjectMeta, isDueForRemoval, type KubeObject } from '../registry/resource-store.ts';
import type { FieldValidation } from '../registry/strategy.ts';
import { groupResource, isDryRun, type RequestContext } from './context.ts';
import { checkIdentity, readObject } from './input.ts';

export function fieldValidationMode(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation');
  if (value === null || value === '' || value === 'Warn') return 'Warn';
  if (value === 'Strict' || value === 'Ignore') return value;
  throw errors.badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${value}"`);
}

export function requireVerb(resource: ResourceInfo, verb: string): void {
  if (!resource.verbs.includes(verb)) throw errors.methodNotAllowed();
}

export async function handleCreate(ctx: RequestContext): Promise<void> {
  const { resource, parts } = ctx;
  requireVerb(resource, 'create');
  checkWriteOptions(ctx, 'CreateOptions');
  const object = await readObject(ctx, { apiVersion: resource.apiVersion, kind: resource.kind });
  checkIdentity(ctx, object, resource);
  if (resource.namespaced && !object.metadata.namespace) throw errors.badRequest('the server could not find the requested resource (namespace is required)');
  const created = await createObject(ctx, object);
  sendJson(ctx.res, 201, created);
}

/** What the write pipeline needs of a request; the server's own writes (bootstrap) pass no response. */
export type WriteScope = Pick<RequestContext, 'parts' | 'resource' | 'query' | 'userAgent'> & {
  res?: RequestContext['res'];
  user?: RequestContext['user'];
  info?: Pick<RequestContext['info'], 'subresource'>;
};

/** What the admission chain sees of a write. */
function admissionAttributes(ctx: WriteScope, write: Pick<AdmissionAttributes, 'operation' | 'object' | 'oldObject'>): AdmissionAttributes {
  const meta = (write.object ?? write.oldObject)!.metadata;
  return {
    ...write,
    resource: ctx.resource,
    subresource: ctx.info?.subresource ?? '',
    namespace: ctx.resource.namespaced ? meta.namespace : undefined,
    name: meta.name,
    user: ctx.user,
    dryRun: isDryRun(ctx.query),
    parts: ctx.parts,
  };
}

/** Options of one write through the pipeline. */
export interface WriteOptions {
  /** managedFields were already computed (server-side apply); do not record an Update. */
  managedFieldsDone?: boolean;
}

/** Record the writer's fields in metadata.managedFields (operation Update), as upstream does on every write. */
function trackManagedFields(ctx: WriteScope, options: { old: KubeObject | undefined; next: KubeObject; status: boolean }): void {
  const { resource } = ctx;
  updateManagedFields({
    old: options.old,
    next: options.next,
    manager: requestFieldManager({ fieldManager: ctx.query.get('fieldManager'), userAgent: ctx.userAgent }),
    schema: kindSchema(resource),
    apiVersion: resource.apiVersion,
    now: managedFieldsTime(),
    ...(options.status ? { subresource: 'status' } : {}),
    ignoredFields: ignoredFieldsFor(resource, options.status),
  });
}

/** Fields a write through this endpoint cannot own: status on the main resource, the rest on /status. */
export function ignoredFieldsFor(resource: ResourceInfo, status: boolean): string[][] | undefined {
  if (status) return [['spec'], ['metadata']];
  return resource.subresources.status ? [['status']] : undefined;
}

/** Upstream's checks of fieldManager/force on a write (422 on CreateOptions/UpdateOptions/PatchOptions). */
export function checkWriteOptions(ctx: WriteScope, kind: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions', apply = false): void {
  const error = fieldManagerOptionsError({ kind, fieldManager: ctx.query.get('fieldManager'), apply, force: ctx.query.get('force') });
  if (error) throw error;
}

/** The create pipeline, shared by POST and by callers inside the server (bootstrap). */
export async function createObject(ctx: WriteScope, object: KubeObject, options: WriteOptions = {}): Promise<KubeObject> {
  const { resource, parts } = ctx;
  const meta = object.metadata;
  if (!meta.name && !meta.generateName) {
    throw errors.invalid({ kind: resource.kind, group: resource.group, name: '', causes: [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }] });
  }
  for (const warning of parts.strategy.checkSchema(resource, object, fieldValidationMode(ctx.query))) {
    if (ctx.res) addWarning(ctx.res, warning);
  }
  const admission = admissionAttributes(ctx, { operation: 'CREATE', object, oldObject: undefined });
  await parts.admission.admit(admission);
  initializeObjectMeta(meta);
  parts.strategy.prepareCreate(resource, object);
  parts.strategy.validateCreate(resource, object);
  await parts.admission.validate(admission);
  if (!options.managedFieldsDone) trackManagedFields(ctx, { old: undefined, next: object, status: false });
  await parts.strategy.beforeCreateWrite(resource, object);
  const dryRun = isDryRun(ctx.query);
  try {
    const created = await parts.store.create(resource, object, { dryRun });
    if (dryRun) parts.strategy.afterCreateFailed(resource, object); // a dry run keeps no IP or port
    return created;
  } catch (error) {
    parts.strategy.afterCreateFailed(resource, object);
    throw error;
  }
}

export async function handleUpdate(ctx: RequestContext): Promise<void> {
  const { resource, info } = ctx;
  const subresource = info.subresource;
  if (subresource && subresource !== 'status') throw errors.methodNotAllowed();
  requireVerb(resource, 'update');
  checkWriteOptions(ctx, 'UpdateOptions');
  const object = await readObject(ctx, { apiVersion: resource.apiVersion, kind: resource.kind });
  checkIdentity(ctx, object, resource, info.name);
  for (const warning of ctx.parts.strategy.checkSchema(resource, object, fieldValidationMode(ctx.query))) addWarning(ctx.res, warning);
  const old = await ctx.parts.store.get(resource, info.namespace, info.name!);
  const updated = await updateObject(ctx, { next: object, old, status: subresource === 'status' });
  sendJson(ctx.res, 200, updated);
}

/**
 * Write `next` over `old` with the strategy's rules. The precondition is the
 * resourceVersion `next` carries (an empty one means "whatever is current",
 * which upstream allows for built-in kinds).
 */
export async function updateObject(ctx: WriteScope, options: WriteOptions & { next: KubeObject; old: KubeObject; status: boolean }): Promise<KubeObject> {
  const { resource, parts } = ctx;
  const { next, old } = options;
  const requested = next.metadata.resourceVersion;
  if (requested && requested !== old.metadata.resourceVersion) {
    throw errors.conflict(groupResource(resource), old.metadata.name!, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  await parts.admission.admit(admissionAttributes(ctx, { operation: 'UPDATE', object: next, oldObject: old }));
  const prepared = parts.strategy.prepareUpdate(resource, next, old, { status: options.status });
  prepared.metadata.resourceVersion = old.metadata.resourceVersion;
  await parts.admission.validate(admissionAttributes(ctx, { operation: 'UPDATE', object: prepared, oldObject: old }));
  if (options.managedFieldsDone) {
    // A status write takes metadata from the stored object; keep the apply's ownership.
    prepared.metadata.managedFields = next.metadata.managedFields;
  } else {
    trackManagedFields(ctx, { old, next: prepared, status: options.status });
  }
  // Only managedFields timestamps changed: nothing to write (as upstream).
  restoreManagedFieldsTimestamps({ old, next: prepared });
  if (isDeepStrictEqual(prepared, old)) return old;
  const dryRun = isDryRun(ctx.query);
  const written = await parts.store.update(resource, prepared, Number(old.metadata.resourceVersion), { dryRun });
  // The last finalizer gone: the store removed the object; give back what it held (a Service's IP and ports).
  if (!dryRun && isDueForRemoval(resource, prepared)) parts.strategy.afterDelete(resource, old);
  return written;
}
