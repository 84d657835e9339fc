// Field ownership for ordinary writes (POST, PUT, and PATCH other than apply):
// the fields a write adds or changes become the writer's ("Update" entry,
// merged with its earlier Update entry for the same apiVersion), other
// managers lose them, and fields that leave the object leave every entry.
// Also the manager name for requests without ?fieldManager, and the checks
// upstream makes on the fieldManager/force parameters.
//
// How the API server wires this in: for POST, PUT and non-apply PATCH, on the
// object the strategy prepared (defaults applied — upstream's writers own the
// defaults they caused — and status reset), before the no-op check and the
// write: updateManagedFields({ old, next: prepared, manager, ... }), with
// manager = requestFieldManager({ fieldManager: ?fieldManager, userAgent }),
// subresource "status" for /status, and ignoredFields [['status']] for the
// main resource of a kind with a status subresource.
import type { SchemaFacts, SchemaNode } from '../../api/schema/facts.ts';
import { resolveSchema } from '../../api/schema/facts.ts';
import { errors } from '../errors.ts';
import type { ApiError, StatusCause } from '../errors.ts';
import { schemaTypes } from './apply.ts';
import { FieldSet } from './fieldset.ts';
import { isObject } from './json.ts';
import {
  capUpdateManagers,
  decodeManagedFields,
  encodeManagedFields,
  ignoredFieldSet,
  managerIdentity,
  STRIPPED_FIELDS,
  withoutManagedFields,
} from './managers.ts';
import type { Managers } from './managers.ts';
import { compareValues } from './typed.ts';

export interface UpdateManagedFieldsOptions {
  /** The stored object, or undefined for a create. */
  old: object | undefined;
  /** The object about to be stored (after patching and defaulting); its metadata.managedFields is rewritten. */
  next: object;
  manager: string;
  operation?: 'Update';
  /** The kind's root schema node (undefined for kinds without one, see ServerSideApplyOptions). */
  schema: SchemaNode | undefined;
  /** The request's group/version ("apps/v1"). */
  apiVersion: string;
  /** RFC 3339 time for the writer's entry. */
  now: string;
  /** "status" for writes to the status subresource. */
  subresource?: string;
  /** Reset fields nobody owns through this endpoint (see ServerSideApplyOptions). */
  ignoredFields?: readonly (readonly string[])[];
  facts?: SchemaFacts;
  maxUpdateManagers?: number;
}

/** Record an ordinary write in `next.metadata.managedFields` (in place). */
export function updateManagedFields(options: UpdateManagedFieldsOptions): void {
  const types = schemaTypes(options.facts);
  const { schema, manager, apiVersion } = options;
  const next = options.next as Record<string, unknown>;
  const old = options.old as Record<string, unknown> | undefined;
  const subresource = options.subresource ?? '';
  const managers = startingManagers(old, next, subresource !== '');

  const oldValue = old ? withoutManagedFields(old) : zeroObject(schema, options.facts);
  const nextValue = withoutManagedFields(next);
  const ignored = ignoredFieldSet(options.ignoredFields);
  const filter = (set: FieldSet) => (ignored ? set.recursiveDifference(ignored) : set);
  const comparison = compareValues(oldValue, nextValue, schema, types);
  const changed = filter(comparison.modified.union(comparison.added));
  const removed = filter(comparison.removed);

  // Everyone else loses what this write changed (updates always force) and
  // what it removed.
  for (const [id, entry] of managers) {
    entry.set = entry.set.difference(changed).difference(removed);
    if (entry.set.isEmpty()) managers.delete(id);
  }
  const taken = changed.difference(STRIPPED_FIELDS);
  if (!taken.isEmpty()) {
    // Only a write that changed something touches the writer's entry (and its time).
    const id = managerIdentity({ manager, operation: 'Update', apiVersion, subresource });
    const previous = managers.get(id);
    managers.set(id, {
      manager, operation: 'Update', apiVersion, subresource, time: options.now,
      set: previous ? taken.union(previous.set) : taken,
    });
  }
  capUpdateManagers(managers, options.maxUpdateManagers);

  const metadata = isObject(next.metadata) ? next.metadata : (next.metadata = {});
  const encoded = encodeManagedFields(managers);
  if (encoded.length > 0) metadata.managedFields = encoded;
  else delete metadata.managedFields;
}

/**
 * The ownership a write starts from: the managedFields the request carries
 * (clients may edit them), unless it carries none or ones that do not decode
 * (then the stored ones, so clients unaware of the field cannot wipe it), or
 * it asks for a reset with `[]` or `[{}]` (then none). Subresource writes
 * always start from the stored ones.
 */
function startingManagers(old: Record<string, unknown> | undefined, next: Record<string, unknown>, subresource: boolean): Managers {
  const stored = () => {
    try {
      return decodeManagedFields(isObject(old?.metadata) ? old.metadata.managedFields : undefined);
    } catch {
      return new Map() as Managers;
    }
  };
  if (subresource) return stored();
  const requested = isObject(next.metadata) ? next.metadata.managedFields : undefined;
  if (Array.isArray(requested) && (requested.length === 0 || (requested.length === 1 && isObject(requested[0]) && Object.keys(requested[0]).length === 0))) {
    return new Map();
  }
  try {
    const managers = decodeManagedFields(requested);
    if (managers.size > 0) return managers;
  } catch {
    // fall back to the stored entries
  }
  return stored();
}

/**
 * Struct fields upstream's Go types hold by value although OpenAPI calls them
 * optional: a new object already has them (as `{}`), so a create does not
 * own them as a whole — only what it sets below them. This only decides
 * whether FieldsV1 shows `".": {}` under these fields after a create.
 */
const VALUE_STRUCT_FIELDS: Record<string, readonly string[]> = {
  'io.k8s.api.apps.v1.DeploymentSpec': ['strategy'],
  'io.k8s.api.apps.v1.DaemonSetSpec': ['updateStrategy'],
  'io.k8s.api.apps.v1.StatefulSetSpec': ['updateStrategy'],
  'io.k8s.api.core.v1.PersistentVolumeClaimSpec': ['resources'],
  'io.k8s.api.core.v1.ServiceStatus': ['loadBalancer'],
  'io.k8s.api.networking.v1.IngressStatus': ['loadBalancer'],
};
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/**
 * What upstream compares a create against: the kind's empty Go object as
 * JSON — `metadata: {creationTimestamp: null}`, spec and status as empty
 * structs, required lists and maps as null, nested value structs present.
 * (That is why a created Deployment's entry shows `f:spec` and
 * `f:containers` without `".": {}`.)
 */
export function zeroObject(schema: SchemaNode | undefined, facts?: SchemaFacts): Record<string, unknown> {
  // Built once per kind schema (every create needs it); callers get a copy to change freely.
  const key = schema ?? NO_SCHEMA;
  let zero = zeroObjects.get(key);
  if (!zero) {
    zero = zeroStruct(schema, schemaTypes(facts).facts, 0) ?? {};
    zeroObjects.set(key, zero);
  }
  return structuredClone(zero);
}

const NO_SCHEMA: SchemaNode = {};
const zeroObjects = new WeakMap<SchemaNode, Record<string, unknown>>();

function zeroStruct(node: SchemaNode | undefined, facts: SchemaFacts, depth: number): Record<string, unknown> | undefined {
  const resolved = resolveSchema(node, facts);
  if (!resolved?.properties || depth > 8) return undefined;
  const name = node?.$ref?.replace('#/definitions/', '');
  if (name === OBJECT_META) return { creationTimestamp: null };
  const out: Record<string, unknown> = {};
  const byValue = new Set([...(resolved.required ?? []), ...(VALUE_STRUCT_FIELDS[name ?? ''] ?? []), 'metadata', 'spec', 'status']);
  for (const [field, child] of Object.entries(resolved.properties)) {
    if (!byValue.has(field)) continue;
    // Atomic structs (label selectors) are pointers upstream, and a leaf
    // either way, so null is both right and harmless.
    const atomic = resolveSchema(child, facts)?.['x-kubernetes-map-type'] === 'atomic';
    const struct = atomic ? undefined : zeroStruct(child, facts, depth + 1);
    if (struct) out[field] = struct;
    else if ((resolved.required ?? []).includes(field)) out[field] = null;
  }
  return out;
}

/** A managedFields time: RFC 3339 in whole seconds, as upstream writes it. */
export function managedFieldsTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * Upstream's manager name for a request without ?fieldManager: the
 * User-Agent up to its first "/" ("kubectl/v1.32.4 (linux/amd64) kubernetes/abc"
 * → "kubectl"; clients put their executable's base name there), without
 * unprintable characters, at most 128 bytes.
 */
export function defaultFieldManager(userAgent: string): string {
  const prefix = userAgent.split('/')[0];
  let out = '';
  let bytes = 0;
  for (const ch of prefix) {
    if (!PRINTABLE.test(ch)) continue;
    const size = Buffer.byteLength(ch);
    if (bytes + size > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
    bytes += size;
  }
  return out;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const FIELD_MANAGER_MAX_LENGTH = 128;

/**
 * The manager a write is recorded under: ?fieldManager when given, else
 * derived from the User-Agent.
 */
export function requestFieldManager(options: { fieldManager: string | null | undefined; userAgent: string | undefined }): string {
  return options.fieldManager || defaultFieldManager(options.userAgent ?? '');
}

/**
 * Upstream's checks of the write options (422 on the options kind, e.g.
 * `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is
 * required for apply patch`): apply needs a fieldManager, force is for apply
 * only, a fieldManager is at most 128 bytes of printable characters.
 */
export function fieldManagerOptionsError(options: {
  kind: 'PatchOptions' | 'CreateOptions' | 'UpdateOptions';
  fieldManager: string | null | undefined;
  /** Whether this is an apply patch. */
  apply?: boolean;
  /** The raw force parameter, if present. */
  force?: string | null;
}): ApiError | undefined {
  const causes: StatusCause[] = [];
  const fieldManager = options.fieldManager ?? '';
  if (options.apply) {
    if (!fieldManager) causes.push({ reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' });
  } else if (options.kind === 'PatchOptions' && options.force !== undefined && options.force !== null) {
    causes.push({ reason: 'FieldValueForbidden', field: 'force', message: 'Forbidden: may not be specified for non-apply patch' });
  }
  if (Buffer.byteLength(fieldManager) > FIELD_MANAGER_MAX_LENGTH) {
    causes.push({ reason: 'FieldValueTooLong', field: 'fieldManager', message: `Too long: may not be more than ${FIELD_MANAGER_MAX_LENGTH} bytes` });
  }
  if ([...fieldManager].some((ch) => !PRINTABLE.test(ch))) {
    causes.push({ reason: 'FieldValueInvalid', field: 'fieldManager', message: `Invalid value: ${JSON.stringify(fieldManager)}: must only contain printable characters` });
  }
  if (causes.length === 0) return undefined;
  return errors.invalid({ kind: options.kind, group: 'meta.k8s.io', name: '', causes });
}
