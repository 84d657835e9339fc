// Server-side apply (`PATCH` with `application/apply-patch+yaml`): merge an
// applied configuration into the live object and track who owns which field
// in metadata.managedFields, with upstream's semantics:
//   - the result is live ⊕ applied (see typed.ts for the merge rules);
//   - the applier's entry (operation Apply) becomes exactly the applied
//     configuration's field set;
//   - fields the applier set last time and no longer sets are removed from
//     the object, unless another manager owns them too (then only released);
//   - changing a field another manager owns is a conflict (409) unless
//     `force`, which moves the field to the applier; setting it to the value
//     it already has just shares ownership;
//   - managers lose fields that disappear from the object, and entries that
//     end up empty are dropped.
// The caller (the PATCH handler for application/apply-patch+yaml) checks the
// parameters (fieldManagerOptionsError), decodes the body (YAML or JSON),
// calls this with the stored object or undefined, then creates (201) or
// updates (200) the result through the ordinary write pipeline, which
// defaults, validates, honours dryRun and stores it — without recomputing
// managedFields for this write (the apply already did).
import type { SchemaFacts, SchemaNode } from '../../api/schema/facts.ts';
import { ApiError } from '../errors.ts';
import type { StatusCause } from '../errors.ts';
import { FieldSet, fieldSetFromObject } from './fieldset.ts';
import { compareStrings, isObject, jsonEqual } from './json.ts';
import { allowedConflictsFromLastApplied, MIGRATING_MANAGER, syncLastApplied } from './last-applied.ts';
import {
  capUpdateManagers,
  decodeManagedFields,
  encodeManagedFields,
  ignoredFieldSet,
  managerIdentity,
  STRIPPED_FIELDS,
  withoutManagedFields,
} from './managers.ts';
import type { ManagerEntry, Managers } from './managers.ts';
import { pathString } from './path-element.ts';
import type { Path } from './path-element.ts';
import { SchemaTypes } from './schema-types.ts';
import { compareValues, dropNullFields, ensureNamedFieldsAreMembers, mergeValues, removeItems, validateApplied } from './typed.ts';
import type { Comparison } from './typed.ts';

export interface ServerSideApplyOptions {
  /** The stored object (with its managedFields), or undefined to create. */
  live: object | undefined;
  /** The applied configuration (the decoded request body). */
  applied: object;
  /** The fieldManager query parameter (required for apply). */
  manager: string;
  /** The force query parameter: take conflicting fields instead of failing. */
  force: boolean;
  /**
   * The kind's root schema node (kindSchema(gvk)); undefined for kinds
   * without one (custom resources): maps then merge granularly and lists
   * are atomic.
   */
  schema: SchemaNode | undefined;
  /** The request's group/version ("apps/v1", "v1"); the applied config must use it. */
  apiVersion: string;
  /** RFC 3339 time for the applier's entry, e.g. "2025-01-02T03:04:05Z". */
  now: string;
  /** "status" when applying to the status subresource. */
  subresource?: string;
  /**
   * Fields the strategy resets, which nobody can own through this endpoint:
   * [['status']] for the main resource of a kind with a status subresource,
   * [['spec'], ['metadata']] (everything but status) for /status.
   */
  ignoredFields?: readonly (readonly string[])[];
  /** Schema facts the schema's $refs resolve against (default: the generated facts). */
  facts?: SchemaFacts;
  /** Cap on Update entries (default 10, as upstream). */
  maxUpdateManagers?: number;
}

const typesByFacts = new WeakMap<SchemaFacts, SchemaTypes>();
let defaultTypes: SchemaTypes | undefined;

/** One SchemaTypes (and its cache) per facts object. */
export function schemaTypes(facts?: SchemaFacts): SchemaTypes {
  if (!facts) return (defaultTypes ??= new SchemaTypes());
  let types = typesByFacts.get(facts);
  if (!types) typesByFacts.set(facts, (types = new SchemaTypes(facts)));
  return types;
}

/**
 * Merge `applied` into `live` for `manager` and return the object to store,
 * with metadata.managedFields updated. Throws ApiError: 400 for a wrong
 * apiVersion or managedFields in the applied configuration, 409 for
 * conflicts, 500 (as upstream) for list items that cannot be keyed.
 */
export function serverSideApply(options: ServerSideApplyOptions): { object: object } {
  const types = schemaTypes(options.facts);
  const { schema, manager, apiVersion } = options;
  const applied = options.applied as Record<string, unknown>;
  checkApplied(applied, apiVersion, schema, types);

  const live = options.live as Record<string, unknown> | undefined;
  let managers: Managers;
  try {
    managers = decodeManagedFields(isObject(live?.metadata) ? live.metadata.managedFields : undefined);
  } catch (error) {
    throw new ApiError({ code: 500, reason: 'InternalError', message: `failed to decode managed fields: ${(error as Error).message}` });
  }
  const liveValue = live ? withoutManagedFields(live) : undefined;
  const ignored = ignoredFieldSet(options.ignoredFields);
  const subresource = options.subresource ?? '';
  const applierId = managerIdentity({ manager, operation: 'Apply', apiVersion, subresource });
  const previous = managers.get(applierId);

  let configSet = fieldSetFromObject(applied, schema, types);
  if (ignored) configSet = configSet.recursiveDifference(ignored);
  managers.set(applierId, { manager, operation: 'Apply', apiVersion, subresource, time: previous?.time, set: configSet });

  let next = mergeValues(liveValue, applied, schema, types) as Record<string, unknown>;
  if (previous && !previous.set.isEmpty()) next = prune({ merged: next, managers, lastSet: previous.set, schema, types });
  next = dropNullFields(structuredClone(next), schema, types) as Record<string, unknown>;

  const comparison = filterComparison(compareValues(liveValue ?? {}, next, schema, types), ignored);
  const conflicts = findConflicts(managers, applierId, comparison);
  if (conflicts.length > 0 && !options.force) {
    const remaining = unallowedConflicts({ conflicts, manager, live: liveValue, schema, types, apiVersion });
    if (remaining.length > 0) throw conflictError(remaining);
  }
  for (const conflict of conflicts) {
    const entry = managers.get(conflict.id)!;
    entry.set = entry.set.difference(FieldSet.fromPaths([conflict.path]));
  }
  if (!comparison.removed.isEmpty()) {
    for (const [id, entry] of managers) if (id !== applierId) entry.set = entry.set.difference(comparison.removed);
  }

  const applier = managers.get(applierId)!;
  applier.set = applier.set.difference(STRIPPED_FIELDS);
  // A no-op apply keeps the entry's old time (upstream stamps it only when the object changes).
  if (!liveValue || !jsonEqual(liveValue, next)) applier.time = options.now;
  for (const [id, entry] of managers) if (entry.set.isEmpty()) managers.delete(id);
  capUpdateManagers(managers, options.maxUpdateManagers);

  syncLastApplied({ manager, live, applied, result: next });
  const metadata = isObject(next.metadata) ? next.metadata : (next.metadata = {});
  const encoded = encodeManagedFields(managers);
  if (encoded.length > 0) metadata.managedFields = encoded;
  else delete metadata.managedFields;
  return { object: next };
}

function checkApplied(applied: Record<string, unknown>, apiVersion: string, schema: SchemaNode | undefined, types: SchemaTypes): void {
  if (!isObject(applied)) throw new ApiError({ code: 400, reason: 'BadRequest', message: 'the applied configuration must be a JSON object' });
  const version = typeof applied.apiVersion === 'string' ? applied.apiVersion : '';
  if (version !== apiVersion) {
    throw new ApiError({
      code: 400, reason: 'BadRequest',
      message: `Incorrect version specified in apply patch. Specified patch version: ${version}, expected: ${apiVersion}`,
    });
  }
  const metadata = isObject(applied.metadata) ? applied.metadata : {};
  if (metadata.managedFields !== undefined && metadata.managedFields !== null) {
    throw new ApiError({ code: 400, reason: 'BadRequest', message: 'metadata.managedFields must be nil' });
  }
  const problem = validateApplied(applied, schema, types);
  if (problem) {
    // Upstream reports these as a plain error: 500 with no reason.
    // Go prints a GroupVersionKind as "apps/v1, Kind=Deployment" ("/v1, Kind=ConfigMap" for the core group).
    const groupVersion = apiVersion.includes('/') ? apiVersion : `/${apiVersion}`;
    const gvk = `${groupVersion}, Kind=${String(applied.kind ?? '')}`;
    const where = `${String(metadata.namespace ?? '')}/${String(metadata.name ?? '')}; ${gvk}`;
    throw new ApiError({ code: 500, reason: '', message: `failed to create typed patch object (${where}): ${problem}` });
  }
}

/**
 * Remove what the applier applied last time and no longer applies, unless
 * some manager (the applier's new configuration included) still owns it.
 * Upstream's three steps: remove the old set; add back everything owned;
 * remove only what the old set named (things merely below a removed parent
 * stay). Struct fields count as owned when something below them is.
 */
function prune(options: { merged: Record<string, unknown>; managers: Managers; lastSet: FieldSet; schema: SchemaNode | undefined; types: SchemaTypes }): Record<string, unknown> {
  const { merged, schema, types } = options;
  const named = (set: FieldSet) => ensureNamedFieldsAreMembers(set, schema, types);
  const fieldsOf = (value: unknown) => named(fieldSetFromObject(value ?? {}, schema, types));
  const remove = (set: FieldSet) => (removeItems(merged, set, schema, types) ?? {}) as Record<string, unknown>;

  const last = named(options.lastSet);
  let owned = new FieldSet();
  for (const entry of options.managers.values()) owned = owned.union(entry.set);
  const mergedFields = fieldsOf(merged);
  const withoutLast = remove(last);
  const ownedBack = remove(mergedFields.difference(fieldsOf(withoutLast).union(named(owned))));
  return remove(mergedFields.difference(fieldsOf(ownedBack)).intersection(last));
}

function filterComparison(comparison: Comparison, ignored: FieldSet | undefined): Comparison {
  if (!ignored) return comparison;
  return {
    added: comparison.added.recursiveDifference(ignored),
    modified: comparison.modified.recursiveDifference(ignored),
    removed: comparison.removed.recursiveDifference(ignored),
  };
}

interface Conflict {
  id: string;
  entry: ManagerEntry;
  path: Path;
}

/** Fields other managers own that the apply adds or changes, sorted by manager identity, then path. */
function findConflicts(managers: Managers, applierId: string, comparison: Comparison): Conflict[] {
  const changed = comparison.modified.union(comparison.added);
  const out: Conflict[] = [];
  const ids = [...managers.keys()].filter((id) => id !== applierId).sort(compareStrings);
  for (const id of ids) {
    const entry = managers.get(id)!;
    for (const path of entry.set.intersection(changed).paths()) out.push({ id, entry, path });
  }
  return out;
}

/** The conflicts left after the client-side to server-side migration allowance (manager "kubectl" only). */
function unallowedConflicts(options: {
  conflicts: Conflict[];
  manager: string;
  live: Record<string, unknown> | undefined;
  schema: SchemaNode | undefined;
  types: SchemaTypes;
  apiVersion: string;
}): Conflict[] {
  const { conflicts, live } = options;
  if (options.manager !== MIGRATING_MANAGER || !live) return conflicts;
  const allowed = allowedConflictsFromLastApplied({ live, schema: options.schema, types: options.types, apiVersion: options.apiVersion });
  if (!allowed) return conflicts;
  return conflicts.filter((c) => !allowed.has(c.path));
}

/** How upstream names a manager in conflict messages: `"kubectl-client-side-apply" using apps/v1`. */
function describeManager(entry: ManagerEntry): string {
  let text = JSON.stringify(entry.manager);
  if (entry.subresource) text += ` with subresource ${JSON.stringify(entry.subresource)}`;
  if (entry.operation === 'Update') text += ` using ${entry.apiVersion}`;
  return text;
}

/** Upstream's 409 for apply conflicts: one cause per field, message grouped by manager. */
function conflictError(conflicts: readonly Conflict[]): ApiError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${describeManager(c.entry)}`,
    field: pathString(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${describeManager(conflicts[0].entry)}: ${pathString(conflicts[0].path)}`;
  } else {
    const lines: string[] = [];
    let current: string | undefined;
    for (const c of conflicts) {
      if (c.id !== current) {
        current = c.id;
        lines.push(`conflicts with ${describeManager(c.entry)}:`);
      }
      lines.push(`- ${pathString(c.path)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError({ code: 409, reason: 'Conflict', message, details: { causes } });
}
