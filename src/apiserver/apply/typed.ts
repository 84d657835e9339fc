// Schema-aware operations on whole values that server-side apply is built
// from, with upstream's (structured-merge-diff) semantics:
//   - mergeValues: live ⊕ applied — applied values win; granular maps merge
//     by key; associative lists merge item by item (keyed, or by value for
//     sets); scalars, atomic lists and atomic maps are replaced whole;
//   - compareValues: which paths were added, modified or removed;
//   - removeItems: drop the members of a field set from a value;
//   - ensureNamedFieldsAreMembers: make struct fields that only have owned
//     children count as owned themselves (used when pruning);
//   - validateApplied: the structural errors upstream reports for an applied
//     configuration (items missing every key field, duplicate keys).
// Values are parsed JSON; `undefined` is "absent", `null` is "present, null".
import type { SchemaNode } from '../../api/schema/facts.ts';
import { FieldSet } from './fieldset.ts';
import { isObject, jsonEqual, member, setMember } from './json.ts';
import { fieldElement, pathElementString, pathString } from './path-element.ts';
import type { PathElement } from './path-element.ts';
import { ApplyValueError, fieldOf, listItemElement, shapeOf } from './schema-types.ts';
import type { ListType, SchemaTypes, Shape, TypeInfo } from './schema-types.ts';

/** Shape used when both sides are known: a mismatch (possible only for deduced values) is a leaf. */
function shapeOfPair(type: TypeInfo, lhs: unknown, rhs: unknown): Shape {
  if (lhs === undefined) return shapeOf(type, rhs);
  const left = shapeOf(type, lhs);
  if (rhs === undefined) return left;
  const right = shapeOf(type, rhs);
  return left.walk === right.walk ? right : { walk: 'leaf' };
}

const isEmptyList = (value: unknown) => !Array.isArray(value) || value.length === 0;
const isEmptyMap = (value: unknown) => !isObject(value) || Object.keys(value).length === 0;

/** An associative list indexed by path element; items whose key repeats are kept as a group. */
function indexList(type: ListType, items: unknown[], path: readonly PathElement[]) {
  const order: PathElement[] = [];
  const groups = new Map<string, unknown[]>();
  for (let i = 0; i < items.length; i++) {
    const pe = elementAt(type, items[i], i, path);
    const group = groups.get(pe.text);
    if (group) group.push(items[i]);
    else {
      groups.set(pe.text, [items[i]]);
      order.push(pe);
    }
  }
  return { order, groups };
}

function elementAt(type: ListType, item: unknown, index: number, path: readonly PathElement[]): PathElement {
  try {
    return listItemElement(type, item);
  } catch (error) {
    if (error instanceof ApplyValueError) throw new ApplyValueError(`${pathString(path)}: element ${index}: ${error.message}`);
    throw error;
  }
}

// ---------------------------------------------------------------- merge

/** live ⊕ applied (either may be undefined). Neither input is modified; unchanged subtrees are shared. */
export function mergeValues(lhs: unknown, rhs: unknown, schema: SchemaNode | undefined, types: SchemaTypes, path: readonly PathElement[] = []): unknown {
  if (rhs === undefined) return lhs;
  if (lhs === undefined) return rhs;
  const shape = shapeOfPair(types.typeOf(schema), lhs, rhs);
  if (shape.walk === 'leaf') return rhs;
  if (shape.walk === 'list') {
    // Both empty (or null): a leaf, which keeps the empty/null distinction.
    if (isEmptyList(lhs) && isEmptyList(rhs)) return rhs;
    return mergeLists(Array.isArray(lhs) ? lhs : [], Array.isArray(rhs) ? rhs : [], shape.type, types, path);
  }
  if (isEmptyMap(lhs) && isEmptyMap(rhs)) return rhs;
  const left = isObject(lhs) ? lhs : {};
  const right = isObject(rhs) ? rhs : {};
  const out: Record<string, unknown> = {};
  const keys = [...Object.keys(left), ...Object.keys(right).filter((k) => !Object.hasOwn(left, k))];
  for (const key of keys) {
    const merged = mergeValues(member(left, key), member(right, key), fieldOf(shape.type, key).schema, types, [...path, fieldElement(key)]);
    if (merged !== undefined) setMember(out, key, merged);
  }
  return out;
}

/**
 * Merge two associative lists. Order, as upstream: items the applied list
 * names come in its order; live-only items keep their place relative to the
 * shared items around them.
 */
function mergeLists(lhs: unknown[], rhs: unknown[], type: ListType, types: SchemaTypes, path: readonly PathElement[]): unknown[] {
  const lhsPEs = lhs.map((item, i) => elementAt(type, item, i, path));
  const rhsPEs = rhs.map((item, i) => elementAt(type, item, i, path));
  const observedLHS = new Map<string, unknown>();
  for (let i = 0; i < lhs.length; i++) {
    // A repeated live key is not merged with anything: its value becomes null.
    observedLHS.set(lhsPEs[i].text, observedLHS.has(lhsPEs[i].text) ? null : lhs[i]);
  }
  const observedRHS = new Map<string, unknown>();
  for (let i = 0; i < rhs.length; i++) observedRHS.set(rhsPEs[i].text, rhs[i]);

  const sharedOrder = rhsPEs.filter((pe) => observedLHS.has(pe.text)).map((pe) => pe.text);
  let nextShared = sharedOrder.shift();
  const mergedRHS = new Set<string>();
  const out: unknown[] = [];
  const mergeItem = (pe: PathElement, l: unknown, r: unknown) => {
    const merged = mergeValues(l, r, type.item, types, [...path, pe]);
    if (merged !== undefined) out.push(merged);
  };
  let l = 0;
  let r = 0;
  while (l < lhsPEs.length || r < rhsPEs.length) {
    if (l < lhsPEs.length && r < rhsPEs.length) {
      const pe = lhsPEs[l];
      if (pe.text === rhsPEs[r].text) {
        mergedRHS.add(pe.text);
        mergeItem(pe, observedLHS.get(pe.text), observedRHS.get(pe.text));
        l++;
        r++;
        nextShared = sharedOrder.shift();
        continue;
      }
      if (observedRHS.has(pe.text) && nextShared !== undefined && nextShared !== pe.text) {
        // A shared item, but not the next one the applied list wants: it is
        // emitted when the applied list reaches it.
        l++;
        continue;
      }
    }
    if (l < lhsPEs.length) {
      const pe = lhsPEs[l];
      if (!observedRHS.has(pe.text)) {
        mergeItem(pe, lhs[l], undefined);
        l++;
        continue;
      } else if (mergedRHS.has(pe.text)) {
        l++;
      }
    }
    if (r < rhsPEs.length) {
      const pe = rhsPEs[r];
      mergedRHS.add(pe.text);
      mergeItem(pe, observedLHS.get(pe.text), observedRHS.get(pe.text));
      r++;
      if (nextShared === pe.text) nextShared = sharedOrder.shift();
    }
  }
  return out;
}

// ---------------------------------------------------------------- compare

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** What changed from `lhs` to `rhs`: paths added, modified (leaves only) and removed. */
export function compareValues(lhs: unknown, rhs: unknown, schema: SchemaNode | undefined, types: SchemaTypes): Comparison {
  const out: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  compareAt(lhs, rhs, schema, types, [], out);
  return out;
}

function compareAt(lhs: unknown, rhs: unknown, schema: SchemaNode | undefined, types: SchemaTypes, path: PathElement[], out: Comparison): void {
  const shape = shapeOfPair(types.typeOf(schema), lhs, rhs);
  const leaf = () => {
    if (lhs === undefined) out.added.insert(path);
    else if (rhs === undefined) out.removed.insert(path);
    else if (!jsonEqual(lhs, rhs)) out.modified.insert(path);
  };
  if (shape.walk === 'leaf') return leaf();
  if (shape.walk === 'list') {
    if (isEmptyList(lhs) && isEmptyList(rhs)) return leaf();
    compareLists(Array.isArray(lhs) ? lhs : [], Array.isArray(rhs) ? rhs : [], shape.type, types, path, out);
  } else {
    if (isEmptyMap(lhs) && isEmptyMap(rhs)) return leaf();
    const left = isObject(lhs) ? lhs : {};
    const right = isObject(rhs) ? rhs : {};
    const keys = [...Object.keys(left), ...Object.keys(right).filter((k) => !Object.hasOwn(left, k))];
    for (const key of keys) {
      compareAt(member(left, key), member(right, key), fieldOf(shape.type, key).schema, types, [...path, fieldElement(key)], out);
    }
  }
  // A container that appeared or disappeared is itself added or removed.
  if (lhs === undefined) out.added.insert(path);
  else if (rhs === undefined) out.removed.insert(path);
}

function compareLists(lhs: unknown[], rhs: unknown[], type: ListType, types: SchemaTypes, path: PathElement[], out: Comparison): void {
  const left = indexList(type, lhs, path);
  const right = indexList(type, rhs, path);
  const all = [...left.order, ...right.order.filter((pe) => !left.groups.has(pe.text))];
  for (const pe of all) {
    const l = left.groups.get(pe.text) ?? [];
    const r = right.groups.get(pe.text) ?? [];
    const itemPath = [...path, pe];
    if (l.length <= 1 && r.length <= 1) {
      compareAt(l[0], r[0], type.item, types, itemPath, out);
    } else if (l.length >= 2 && r.length >= 2) {
      if (!jsonEqual(l, r)) out.modified.insert(itemPath);
    } else if (l.length >= 2) {
      if (r.length) compareAt(undefined, r[0], type.item, types, itemPath, out);
      out.removed.insert(itemPath);
    } else {
      if (l.length) compareAt(l[0], undefined, type.item, types, itemPath, out);
      out.added.insert(itemPath);
    }
  }
}

// ---------------------------------------------------------------- remove

/**
 * `value` without the members of `set` (a member removes its whole subtree).
 * As upstream, a list or map left empty becomes undefined (absent), and a
 * value of the wrong JSON type under a list or map schema is dropped.
 */
export function removeItems(value: unknown, set: FieldSet, schema: SchemaNode | undefined, types: SchemaTypes): unknown {
  if (set.isEmpty()) return value;
  const type = types.typeOf(schema);
  if (type.kind === 'scalar' || (type.kind === 'deduced' && !isObject(value))) return value;
  if (type.kind === 'list') {
    if (!Array.isArray(value) || value.length === 0 || type.atomic) return undefined;
    const kept: unknown[] = [];
    value.forEach((item, i) => {
      const pe = elementAt(type, item, i, []);
      if (set.has([pe])) return;
      const below = set.withPrefix(pe);
      const rest = below.isEmpty() ? item : removeItems(item, below, type.item, types);
      kept.push(rest === undefined ? null : rest);
    });
    return kept.length ? kept : undefined;
  }
  if (!isObject(value) || Object.keys(value).length === 0) return undefined;
  const mapType = type.kind === 'map' ? type : undefined;
  if (mapType?.atomic) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const pe = fieldElement(key);
    if (set.has([pe])) continue;
    const below = set.withPrefix(pe);
    const child = member(value, key);
    const rest = below.isEmpty() ? child : removeItems(child, below, mapType ? fieldOf(mapType, key).schema : undefined, types);
    setMember(out, key, rest === undefined ? null : rest);
  }
  return Object.keys(out).length ? out : undefined;
}

// ---------------------------------------------------------------- ensure named

/** `set` plus, at every level, the named struct fields it only reaches into. */
export function ensureNamedFieldsAreMembers(set: FieldSet, schema: SchemaNode | undefined, types: SchemaTypes): FieldSet {
  const type = types.typeOf(schema);
  const members = set.members();
  const children: { pe: PathElement; set: FieldSet }[] = [];
  for (const child of set.children()) {
    let childSchema: SchemaNode | undefined;
    if (child.pe.type === 'field' && type.kind === 'map') {
      const field = fieldOf(type, child.pe.name);
      if (field.named) members.push(child.pe);
      childSchema = field.schema;
    } else if (child.pe.type === 'key' && type.kind === 'list') {
      childSchema = type.item;
    }
    children.push({ pe: child.pe, set: ensureNamedFieldsAreMembers(child.set, childSchema, types) });
  }
  return FieldSet.compose(members, children);
}

// ---------------------------------------------------------------- validate

/**
 * The structural errors upstream finds when it types an applied
 * configuration: list items that cannot be keyed, and repeated keys. Returns
 * upstream's message (one error, or "errors:" and one per line), or undefined.
 */
export function validateApplied(value: unknown, schema: SchemaNode | undefined, types: SchemaTypes): string | undefined {
  const problems: string[] = [];
  validateAt(value, schema, types, [], problems);
  if (problems.length === 0) return undefined;
  if (problems.length === 1) return problems[0];
  return ['errors:', ...problems.map((p) => `  ${p}`)].join('\n');
}

function validateAt(value: unknown, schema: SchemaNode | undefined, types: SchemaTypes, path: PathElement[], problems: string[]): void {
  if (value === null || value === undefined) return;
  const shape = shapeOf(types.typeOf(schema), value);
  const where = (message: string) => (path.length ? `${pathString(path)}: ${message}` : message);
  if (shape.walk === 'list') {
    const seen = new Set<string>();
    const items = value as unknown[];
    for (let i = 0; i < items.length; i++) {
      let pe: PathElement;
      try {
        pe = listItemElement(shape.type, items[i]);
      } catch (error) {
        if (!(error instanceof ApplyValueError)) throw error;
        // Upstream stops looking at a list after an item it cannot key.
        problems.push(where(`element ${i}: ${error.message}`));
        return;
      }
      if (seen.has(pe.text)) problems.push(where(`duplicate entries for key ${pathElementString(pe)}`));
      seen.add(pe.text);
      validateAt(items[i], shape.type.item, types, [...path, pe], problems);
    }
  } else if (shape.walk === 'map') {
    for (const key of Object.keys(value as object)) {
      validateAt(member(value as Record<string, unknown>, key), fieldOf(shape.type, key).schema, types, [...path, fieldElement(key)], problems);
    }
  }
}

// ---------------------------------------------------------------- nulls

/**
 * Remove struct fields whose value is null, in place — what decoding into
 * upstream's Go types does to an applied `field: null` (or to a container
 * that removeItems emptied). Map entries, list items and deduced content keep
 * their nulls. Returns `value`.
 */
export function dropNullFields(value: unknown, schema: SchemaNode | undefined, types: SchemaTypes): unknown {
  const shape = shapeOf(types.typeOf(schema), value);
  if (value === null || shape.walk === 'leaf') return value;
  if (shape.walk === 'list') {
    for (const item of value as unknown[]) dropNullFields(item, shape.type.item, types);
    return value;
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const field = fieldOf(shape.type, key);
    if (object[key] === null && field.named) delete object[key];
    else dropNullFields(object[key], field.schema, types);
  }
  return value;
}
