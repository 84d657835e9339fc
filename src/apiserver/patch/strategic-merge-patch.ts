// Strategic merge patch (`application/strategic-merge-patch+json`), the patch
// type `kubectl apply`, `edit` and `patch` send for built-in kinds.
//
// Behaviour follows apimachinery's strategicpatch package as the API server
// runs it (merge the parallel lists, ignore unmatched nulls); the field facts
// come from the kind's schema instead of Go struct tags:
//   - maps merge recursively; `null` removes a key;
//   - lists whose field has patch strategy "merge" merge: lists of objects
//     element-wise by the merge key, lists of primitives as a union; other
//     lists are replaced; a field with strategy "replace" is taken whole;
//   - directives: `$patch: replace|delete` in a map or a list item,
//     `$retainKeys`, `$deleteFromPrimitiveList/<list>`,
//     `$setElementOrder/<list>` (see list-order.ts for the resulting order);
//   - fields the schema does not describe (unknown fields, RawExtension,
//     preserve-unknown-fields) merge like a JSON merge patch: maps merge,
//     lists are replaced; directives are still honoured.
// Values for fields the original lacks are taken from the patch with nulls
// dropped from maps and directives removed (a map carrying `$patch` is dropped,
// as upstream's removeDirectives does); the result never holds a directive key.
import { itemSchema, loadSchemaFacts, propertySchema, resolveSchema } from '../../api/schema/facts.ts';
import type { SchemaFacts, SchemaNode } from '../../api/schema/facts.ts';
import { badRequest, internal, unprocessable } from './errors.ts';
import { cloneJson, describe, getMember, isObject, jsonEqual, kindOf, setMember } from './json-value.ts';
import type { JsonKind, JsonObject } from './json-value.ts';
import { PATCH_DIRECTIVE, noMergeKeyError, normalizeElementOrder, partitionByPresence, validateSetElementOrder } from './list-order.ts';
import type { ItemIdentity } from './list-order.ts';

const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

export interface StrategicMergeOptions {
  /** Schema facts the `$ref`s resolve against (default: the generated facts file). */
  facts?: SchemaFacts;
}

interface Context {
  facts: SchemaFacts;
}

/**
 * Apply a parsed strategic merge patch to `original` and return the result.
 * `schema` is the kind's root schema node (kindSchema(gvk)); undefined merges
 * without schema facts. Neither argument is modified. Throws PatchError.
 */
export function applyStrategicMergePatch(
  original: object,
  patch: unknown,
  schema: SchemaNode | undefined,
  options: StrategicMergeOptions = {},
): object {
  if (!isObject(original)) throw new TypeError('applyStrategicMergePatch: original must be a JSON object');
  // Upstream decodes the body into a map: `null` leaves it empty, anything
  // else that is not an object fails to decode (400).
  if (patch === null) return cloneJson(original);
  if (!isObject(patch)) throw badRequest(`strategic merge patch must be a JSON object, got ${describe(patch)}`);
  const ctx: Context = { facts: options.facts ?? loadSchemaFacts() };
  return mergeMap(cloneJson(original), cloneJson(patch), schema, ctx);
}

/** What the schema says about one field of an object. */
interface FieldFacts {
  name: string;
  /** The field's schema node (unresolved), undefined when the schema does not know it. */
  schema: SchemaNode | undefined;
  merge: boolean;
  replace: boolean;
  mergeKey: string;
}

function fieldFacts(parent: SchemaNode | undefined, name: string, ctx: Context): FieldFacts {
  const node = parent ? propertySchema(parent, name, ctx.facts) : undefined;
  const strategies = String(node?.['x-kubernetes-patch-strategy'] ?? '').split(',');
  return {
    name,
    schema: node,
    merge: strategies.includes('merge'),
    replace: strategies.includes('replace'),
    mergeKey: String(node?.['x-kubernetes-patch-merge-key'] ?? ''),
  };
}

/** Merge `patch` into `original` (both owned copies; `original` is updated and returned). */
function mergeMap(original: JsonObject, patch: JsonObject, schema: SchemaNode | undefined, ctx: Context): JsonObject {
  if (Object.hasOwn(patch, PATCH_DIRECTIVE)) return mapDirective(patch);
  applyRetainKeys(original, patch);
  applySetElementOrder(original, patch, schema, ctx);

  for (const [patchKey, patchValue] of Object.entries(patch)) {
    let key = patchKey;
    let deleteList = false;
    if (patchKey.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      key = directiveTarget(patchKey, DELETE_FROM_PRIMITIVE_LIST);
      deleteList = true;
    }
    if (patchValue === null) {
      // Upstream removes the field even for a null deletion list.
      delete original[key];
      continue;
    }
    const current = getMember(original, key);
    if (current === undefined || kindOf(current) !== kindOf(patchValue)) {
      // Absent or of another JSON type: the patch value wins (a deletion list
      // never adds anything).
      if (!deleteList) setCleaned(original, key, patchValue);
      continue;
    }
    if (isObject(current)) {
      const field = fieldFacts(schema, key, ctx);
      if (field.replace) setCleaned(original, key, withoutDirective(patchValue as JsonObject));
      else setMember(original, key, mergeMap(current, patchValue as JsonObject, field.schema, ctx));
    } else if (Array.isArray(current)) {
      const field = fieldFacts(schema, key, ctx);
      setMember(original, key, mergeList(current, patchValue as unknown[], field, deleteList, ctx));
    } else if (!deleteList) {
      setMember(original, key, patchValue);
    }
  }
  return original;
}

/** A map carrying `$patch`: replace it by the patch's content, or empty it. */
function mapDirective(patch: JsonObject): JsonObject {
  const directive = patch[PATCH_DIRECTIVE];
  if (directive === 'replace') return clean(withoutDirective(patch)) as JsonObject;
  if (directive === 'delete') return {};
  throw internal(`unknown patch type: ${describe(directive)} in map: ${describe(patch)}`);
}

function withoutDirective(map: JsonObject): JsonObject {
  const copy = { ...map };
  delete copy[PATCH_DIRECTIVE];
  return copy;
}

/** "$setElementOrder/containers" → "containers"; malformed keys are a 400 as upstream. */
function directiveTarget(key: string, prefix: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    const what = prefix === SET_ELEMENT_ORDER ? 'setElementOrder list' : 'primitive list';
    throw badRequest(`invalid patch format of ${what}: ${describe(key)}`);
  }
  return key.slice(slash + 1);
}

/**
 * `$retainKeys: [..]`: drop every key of `original` not listed, then merge.
 * Every non-null field the patch sets must be listed (400 otherwise).
 */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw badRequest(`invalid patch format of retainKeys: ${describe(list)} is not a list`);
  const keep = new Set(list.filter((k): k is string => typeof k === 'string'));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith(DELETE_FROM_PRIMITIVE_LIST) || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(key)) throw badRequest(`invalid patch format of retainKeys: field ${describe(key)} is not in the $retainKeys list`);
  }
  for (const key of Object.keys(original)) {
    if (!keep.has(key)) delete original[key];
  }
}

/**
 * Every `$setElementOrder/<list>` directive: merge the list it names (if the
 * patch has it) and put the result in the requested order. The list is then
 * done; the main loop does not see it again.
 */
function applySetElementOrder(original: JsonObject, patch: JsonObject, schema: SchemaNode | undefined, ctx: Context): void {
  for (const directiveKey of Object.keys(patch)) {
    if (!directiveKey.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[directiveKey];
    delete patch[directiveKey];
    const name = directiveTarget(directiveKey, SET_ELEMENT_ORDER);
    if (!Array.isArray(order)) throw internal(`${directiveKey}: expected a list, but received ${describe(order)}`);

    const originalList = getMember(original, name);
    const patchList = getMember(patch, name);
    if (originalList !== undefined && !Array.isArray(originalList)) {
      throw internal(`${name}: expected a list, but received ${describe(originalList)}`);
    }
    if (patchList !== undefined && !Array.isArray(patchList)) {
      throw internal(`${name}: expected a list, but received ${describe(patchList)}`);
    }
    const field = fieldFacts(schema, name, ctx);
    const kind = elementKind(originalList ?? [], patchList ?? []);
    const id: ItemIdentity = { objects: kind === 'object' && field.mergeKey !== '', mergeKey: field.mergeKey };
    if (kind === 'object' && !field.mergeKey && order.length > 0) {
      // Upstream cannot match objects without a merge key either (it fails).
      throw internal(`${directiveKey}: cannot order a list of objects without a merge key`);
    }
    validateSetElementOrder(patchList ?? [], order, id);

    let merged: unknown[];
    let liveOrder: unknown[] = originalList ?? [];
    if (originalList && patchList) ({ merged, liveOrder } = mergeListWithOrder(originalList, patchList, field, false, ctx));
    else if (originalList) merged = originalList;
    else if (patchList) merged = clean(patchList) as unknown[];
    else continue;
    delete patch[name];

    if (merged.length === 0) {
      setMember(original, name, merged);
      continue;
    }
    const { named, others } = partitionByPresence(merged, order, id);
    setMember(original, name, normalizeElementOrder({
      patchItems: named, serverOnly: others, patchOrder: order, serverOrder: liveOrder, id,
    }));
  }
}

/**
 * The single JSON kind of the items of some lists (undefined when all are
 * empty). Mixed kinds fail as upstream: a 422 for lists of lists, else a 500.
 */
function elementKind(...lists: unknown[][]): JsonKind | undefined {
  let kind: JsonKind | undefined;
  for (const list of lists) {
    for (const item of list) {
      const k = kindOf(item);
      if (kind === undefined) {
        if (k === 'array') throw unprocessable('lists of lists are not supported');
        kind = k;
      } else if (k !== kind) {
        throw internal(`list element types are not identical: ${describe(lists)}`);
      }
    }
  }
  return kind;
}

/** Merge a list field: strategy "merge" (or a deletion list) merges, anything else replaces. */
function mergeList(original: unknown[], patch: unknown[], field: FieldFacts, deleteList: boolean, ctx: Context): unknown[] {
  return mergeListWithOrder(original, patch, field, deleteList, ctx).merged;
}

/**
 * mergeList, plus the live order a `$setElementOrder` directive on the same
 * list then interleaves server-only items by. Upstream reads that order from
 * the live list's storage after merging into it, and the merge has by then
 * shifted deleted items out and written the first new items into the freed
 * slots: the reference is the live list minus deletions, followed by as many
 * new items as were deleted. Reproducing that keeps results identical to
 * upstream's (e.g. live [a, sidecar], patch deletes a and adds b with order
 * [b] gives [sidecar, b], not [b, sidecar]).
 */
function mergeListWithOrder(
  original: unknown[], patch: unknown[], field: FieldFacts, deleteList: boolean, ctx: Context,
): { merged: unknown[]; liveOrder: unknown[] } {
  if (!field.merge && !deleteList) return { merged: clean(patch) as unknown[], liveOrder: original };
  if (original.length === 0 && patch.length === 0) return { merged: original, liveOrder: original };

  if (elementKind(original, patch) !== 'object') {
    if (deleteList) return { merged: original.filter((item) => !patch.some((gone) => jsonEqual(gone, item))), liveOrder: original };
    const merged = dedupe([...original, ...patch]);
    const id: ItemIdentity = { objects: false, mergeKey: '' };
    const { named, others } = partitionByPresence(merged, patch, id);
    const ordered = normalizeElementOrder({ patchItems: named, serverOnly: others, patchOrder: patch, serverOrder: original, id });
    return { merged: ordered, liveOrder: original };
  }

  if (!field.mergeKey) throw internal(`cannot merge lists without merge key for ${field.name}`);
  const id: ItemIdentity = { objects: true, mergeKey: field.mergeKey };
  const { base, items, replaced } = applyListDirectives(original as JsonObject[], patch as JsonObject[], field.mergeKey);
  const merged = mergeByKey(base, items, field.mergeKey, elementSchemaOf(field, ctx), ctx);
  const { named, others } = partitionByPresence(merged, items, id);
  const ordered = normalizeElementOrder({ patchItems: named, serverOnly: others, patchOrder: items, serverOrder: base, id });
  const freed = original.length - base.length;
  const liveOrder = replaced ? original : merged.slice(0, base.length + freed);
  return { merged: ordered, liveOrder };
}

/**
 * Schema of a list field's items. A field with a merge key but an object
 * schema (no `items`) describes its items itself, as upstream's lookup does.
 */
function elementSchemaOf(field: FieldFacts, ctx: Context): SchemaNode | undefined {
  return resolveSchema(field.schema, ctx.facts)?.items ? itemSchema(field.schema, ctx.facts) : field.schema;
}

/**
 * List items carrying `$patch`: `delete` removes the original items with the
 * same merge key value, `replace` makes the list exactly the patch's other
 * items. Returns the list to merge into and the remaining patch items.
 */
function applyListDirectives(
  original: JsonObject[], patch: JsonObject[], mergeKey: string,
): { base: JsonObject[]; items: JsonObject[]; replaced: boolean } {
  const items: JsonObject[] = [];
  let base = original;
  let replace = false;
  for (const item of patch) {
    if (!Object.hasOwn(item, PATCH_DIRECTIVE)) {
      items.push(item);
      continue;
    }
    const directive = item[PATCH_DIRECTIVE];
    if (directive === 'delete') {
      if (!Object.hasOwn(item, mergeKey)) throw noMergeKeyError(item, mergeKey);
      base = base.filter((o) => !(Object.hasOwn(o, mergeKey) && jsonEqual(o[mergeKey], item[mergeKey])));
    } else if (directive === 'replace') {
      replace = true; // keep going: later directive items are still checked
    } else if (directive === 'merge') {
      throw internal('merging lists cannot yet be specified in the patch');
    } else {
      throw internal(`unknown patch type: ${describe(directive)} in map: ${describe(item)}`);
    }
  }
  if (replace) return { base: clean(items) as JsonObject[], items: [], replaced: true };
  return { base, items, replaced: false };
}

/** Merge patch items into the list by merge key; unknown keys are appended. */
function mergeByKey(base: JsonObject[], items: JsonObject[], mergeKey: string, schema: SchemaNode | undefined, ctx: Context): JsonObject[] {
  const merged = [...base];
  for (const item of items) {
    if (!Object.hasOwn(item, mergeKey)) throw noMergeKeyError(item, mergeKey);
    const at = merged.findIndex((o) => Object.hasOwn(o, mergeKey) && jsonEqual(o[mergeKey], item[mergeKey]));
    if (at >= 0) merged[at] = mergeMap(merged[at], item, schema, ctx);
    else merged.push(clean(item) as JsonObject);
  }
  return merged;
}

/** Primitive union: first occurrence wins (the final order is decided afterwards). */
function dedupe(items: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const item of items) {
    if (!out.some((seen) => jsonEqual(seen, item))) out.push(item);
  }
  return out;
}

const DROP = Symbol('drop');

/** Set `key` to the cleaned patch value, or remove it when the value is a directive map. */
function setCleaned(target: JsonObject, key: string, value: unknown): void {
  const cleaned = clean(value);
  if (cleaned === DROP) delete target[key];
  else setMember(target, key, cleaned);
}

function isDirectiveKey(key: string): boolean {
  return key === PATCH_DIRECTIVE || key === RETAIN_KEYS
    || key.startsWith(SET_ELEMENT_ORDER) || key.startsWith(DELETE_FROM_PRIMITIVE_LIST);
}

/**
 * A patch value taken as is (nothing to merge with): nulls in maps go, maps
 * carrying `$patch` go, other directive keys go. Nulls inside lists stay.
 */
function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean).filter((v) => v !== DROP);
  if (!isObject(value)) return value;
  if (Object.hasOwn(value, PATCH_DIRECTIVE)) return DROP;
  const out: JsonObject = {};
  for (const [key, member] of Object.entries(value)) {
    if (member === null || isDirectiveKey(key)) continue;
    const cleaned = clean(member);
    if (cleaned !== DROP) setMember(out, key, cleaned);
  }
  return out;
}
