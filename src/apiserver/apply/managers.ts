// metadata.managedFields as upstream stores it: one entry per manager
// identity (manager name, operation, and for Update entries the apiVersion
// and subresource), each with the FieldsV1 set that manager owns. Decoding,
// encoding (with upstream's entry order), the cap on Update entries, and the
// fields no manager ever owns.
import { FieldSet } from './fieldset.ts';
import { compareStrings, goJsonString, isObject, jsonEqual } from './json.ts';
import { fieldPath } from './path-element.ts';

export type Operation = 'Apply' | 'Update';

export interface ManagerEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  /** '' for the main resource. */
  subresource: string;
  /** RFC 3339 time of the manager's last change; undefined when never set. */
  time: string | undefined;
  set: FieldSet;
}

/** Managers keyed by their identity (see managerIdentity). */
export type Managers = Map<string, ManagerEntry>;

/**
 * Upstream's manager identity: the entry's JSON without fieldsType, fieldsV1
 * and time, and without apiVersion for appliers (so one applier is one
 * manager whatever version it applies). Conflict messages are sorted by it.
 */
export function managerIdentity(entry: Pick<ManagerEntry, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  const parts: string[] = [];
  if (entry.manager) parts.push(`"manager":${goJsonString(entry.manager)}`);
  parts.push(`"operation":${goJsonString(entry.operation)}`);
  if (entry.operation !== 'Apply' && entry.apiVersion) parts.push(`"apiVersion":${goJsonString(entry.apiVersion)}`);
  if (entry.subresource) parts.push(`"subresource":${goJsonString(entry.subresource)}`);
  return `{${parts.join(',')}}`;
}

/**
 * Fields no manager owns: type meta and the metadata the server sets (the
 * removal is path-wise, so `.metadata.labels.x` stays while `.metadata`
 * itself goes).
 */
export const STRIPPED_FIELDS: FieldSet = FieldSet.fromPaths([
  fieldPath('apiVersion'),
  fieldPath('kind'),
  fieldPath('metadata'),
  fieldPath('metadata', 'name'),
  fieldPath('metadata', 'namespace'),
  fieldPath('metadata', 'creationTimestamp'),
  fieldPath('metadata', 'selfLink'),
  fieldPath('metadata', 'uid'),
  fieldPath('metadata', 'clusterName'),
  fieldPath('metadata', 'generation'),
  fieldPath('metadata', 'managedFields'),
  fieldPath('metadata', 'resourceVersion'),
]);

/** Fields excluded from ownership (the strategy's reset fields), as field-name paths: [['status']]. */
export function ignoredFieldSet(paths: readonly (readonly string[])[] | undefined): FieldSet | undefined {
  if (!paths || paths.length === 0) return undefined;
  return FieldSet.fromPaths(paths.map((p) => fieldPath(...p)));
}

/**
 * Decode metadata.managedFields. Throws an Error with upstream's wording for
 * entries it cannot use. A repeated identity keeps the last entry.
 */
export function decodeManagedFields(entries: unknown): Managers {
  const managers: Managers = new Map();
  if (entries === undefined || entries === null) return managers;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((raw, i) => {
    if (!isObject(raw)) throw new Error(`managed fields entry ${i} must be an object`);
    const operation = raw.operation;
    if (operation !== 'Apply' && operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    const apiVersion = typeof raw.apiVersion === 'string' ? raw.apiVersion : '';
    if (!apiVersion) throw new Error('apiVersion must not be empty');
    if (raw.fieldsType === undefined || raw.fieldsType === '') throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (raw.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(raw.fieldsType)} in managed fields entry ${i}`);
    let set: FieldSet;
    try {
      set = FieldSet.fromFieldsV1(raw.fieldsV1 ?? {});
    } catch (error) {
      throw new Error(`error decoding versioned set from entry ${i}: ${(error as Error).message}`);
    }
    const entry: ManagerEntry = {
      manager: typeof raw.manager === 'string' ? raw.manager : '',
      operation,
      apiVersion,
      subresource: typeof raw.subresource === 'string' ? raw.subresource : '',
      time: typeof raw.time === 'string' ? raw.time : undefined,
      set,
    };
    managers.set(managerIdentity(entry), entry);
  });
  return managers;
}

const seconds = (time: string | undefined) => {
  const ms = time ? Date.parse(time) : NaN;
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
};

/**
 * The managedFields list, ordered as upstream orders it: Apply entries before
 * Update entries, then by time (whole seconds, oldest first), manager,
 * apiVersion and subresource. Managers with empty sets are left out.
 */
export function encodeManagedFields(managers: Managers): Record<string, unknown>[] {
  const entries = [...managers.values()].filter((e) => !e.set.isEmpty());
  entries.sort((p, q) => {
    if (p.operation !== q.operation) return compareStrings(p.operation, q.operation);
    const byTime = seconds(p.time) - seconds(q.time);
    if (byTime !== 0) return byTime;
    return compareStrings(p.manager, q.manager) || compareStrings(p.apiVersion, q.apiVersion) || compareStrings(p.subresource, q.subresource);
  });
  return entries.map((e) => {
    // Key order as upstream serializes a ManagedFieldsEntry; empty fields omitted.
    const out: Record<string, unknown> = {};
    if (e.manager) out.manager = e.manager;
    out.operation = e.operation;
    out.apiVersion = e.apiVersion;
    if (e.time) out.time = e.time;
    out.fieldsType = 'FieldsV1';
    out.fieldsV1 = e.set.toFieldsV1();
    if (e.subresource) out.subresource = e.subresource;
    return out;
  });
}

/** Upstream keeps at most this many Update entries. */
export const DEFAULT_MAX_UPDATE_MANAGERS = 10;
/** Where the oldest Update entries are merged when there are too many. */
export const ANCIENT_CHANGES_MANAGER = 'ancient-changes';

/**
 * Merge the oldest Update entries into one "ancient-changes" entry per
 * apiVersion until at most `max` Update entries remain (upstream's
 * capManagersManager), so managedFields cannot grow without bound.
 */
export function capUpdateManagers(managers: Managers, max = DEFAULT_MAX_UPDATE_MANAGERS): void {
  const updaters = [...managers.keys()].filter((id) => managers.get(id)!.operation === 'Update');
  if (updaters.length <= max) return;
  updaters.sort((a, b) => seconds(managers.get(a)!.time) - seconds(managers.get(b)!.time) || compareStrings(a, b));
  const firstOfVersion = new Map<string, string>();
  let count = updaters.length;
  for (let i = 0; i < updaters.length && count > max; i++) {
    const id = updaters[i];
    const entry = managers.get(id)!;
    const version = entry.apiVersion;
    const bucketId = managerIdentity({ manager: ANCIENT_CHANGES_MANAGER, operation: 'Update', apiVersion: version, subresource: '' });
    const first = firstOfVersion.get(version);
    if (first === undefined) {
      firstOfVersion.set(version, id);
      continue;
    }
    if (!managers.has(bucketId)) {
      // The bucket starts as the first (oldest) entry of this version.
      const oldest = managers.get(first)!;
      managers.delete(first);
      managers.set(bucketId, { ...oldest, manager: ANCIENT_CHANGES_MANAGER, subresource: '' });
    }
    const bucket = managers.get(bucketId)!;
    // The bucket takes the time of the newer entry merged into it.
    managers.set(bucketId, { ...bucket, set: entry.set.union(bucket.set), time: entry.time });
    managers.delete(id);
    count--;
  }
}

/** The object without metadata.managedFields (a shallow copy down to metadata). */
export function withoutManagedFields(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = object.metadata;
  if (!isObject(metadata) || !Object.hasOwn(metadata, 'managedFields')) return object;
  const { managedFields: _dropped, ...rest } = metadata;
  return { ...object, metadata: rest };
}

/**
 * If `next` differs from `old` only in managedFields timestamps, give `next`
 * the old managedFields back and return true — upstream does this so that a
 * repeated apply or update that changes nothing is a no-op write (no new
 * resourceVersion, no watch event). Call it on the final object, after
 * defaulting and the strategy's preparation.
 */
export function restoreManagedFieldsTimestamps(options: { old: object | undefined; next: object }): boolean {
  const old = options.old as Record<string, unknown> | undefined;
  const next = options.next as Record<string, unknown>;
  if (!old || !isObject(old.metadata) || !isObject(next.metadata)) return false;
  const before = old.metadata.managedFields;
  const after = next.metadata.managedFields;
  if (!Array.isArray(before) || !Array.isArray(after) || before.length !== after.length) return false;
  const untimed = (e: unknown) => {
    if (!isObject(e)) return e;
    const { time: _time, ...rest } = e;
    return rest;
  };
  if (!before.every((e, i) => jsonEqual(untimed(e), untimed(after[i])))) return false;
  if (!jsonEqual(withoutManagedFields(old), withoutManagedFields(next))) return false;
  next.metadata.managedFields = structuredClone(before);
  return true;
}
