// How server-side apply sees a schema node: a scalar, a list (atomic, a set,
// or an associative list keyed by some fields), a map (a struct with named
// fields, or a map with arbitrary keys; granular or atomic), or "deduced"
// (no schema: the shape of the value decides, lists being atomic).
//
// Lists follow upstream's conversion of OpenAPI to its merge schema: an
// explicit x-kubernetes-list-type wins; otherwise a list whose patch strategy
// is "merge" is associative (keyed by its patch merge key, or a set when it
// has none); every other list is atomic.
import { loadSchemaFacts, resolveSchema } from '../../api/schema/facts.ts';
import type { SchemaFacts, SchemaNode } from '../../api/schema/facts.ts';
import { isObject, member } from './json.ts';
import { keyElement, valueElement } from './path-element.ts';
import type { PathElement } from './path-element.ts';

export type TypeInfo =
  | { readonly kind: 'scalar' }
  | { readonly kind: 'deduced' }
  | {
      readonly kind: 'list';
      readonly atomic: boolean;
      /** Key fields of an associative list; empty for a set (or an atomic list). */
      readonly keys: readonly string[];
      readonly item: SchemaNode | undefined;
      /** Values upstream assumes for key fields an item leaves out. */
      readonly keyDefaults: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: 'map';
      readonly atomic: boolean;
      /** Named fields of a struct (undefined for a plain map). */
      readonly fields: Readonly<Record<string, SchemaNode>> | undefined;
      /** Schema of values under other keys; undefined means deduced. */
      readonly element: SchemaNode | undefined;
    };

export type ListType = Extract<TypeInfo, { kind: 'list' }>;
export type MapType = Extract<TypeInfo, { kind: 'map' }>;

/**
 * Key fields with defaults. Upstream's schema declares `protocol` defaulting
 * to "TCP" for these items, so `ports: [{containerPort: 80}]` is keyed
 * {containerPort: 80, protocol: "TCP"} before defaulting ever runs; the facts
 * file carries no defaults, hence this table.
 */
const KEY_DEFAULTS: Record<string, Record<string, unknown>> = {
  'io.k8s.api.core.v1.ContainerPort': { protocol: 'TCP' },
  'io.k8s.api.core.v1.ServicePort': { protocol: 'TCP' },
};

const SCALAR_TYPES = new Set(['string', 'integer', 'number', 'boolean']);
const DEDUCED: TypeInfo = { kind: 'deduced' };
const SCALAR: TypeInfo = { kind: 'scalar' };

/** Resolves schema nodes to TypeInfo (memoised per node). */
export class SchemaTypes {
  readonly facts: SchemaFacts;
  readonly #cache = new WeakMap<SchemaNode, TypeInfo>();

  constructor(facts: SchemaFacts = loadSchemaFacts()) {
    this.facts = facts;
  }

  /** The type of a (possibly unresolved) schema node; undefined is deduced. */
  typeOf(node: SchemaNode | undefined): TypeInfo {
    if (!node) return DEDUCED;
    let type = this.#cache.get(node);
    if (!type) {
      type = this.#compute(node);
      this.#cache.set(node, type);
    }
    return type;
  }

  #compute(node: SchemaNode): TypeInfo {
    const resolved = resolveSchema(node, this.facts);
    if (!resolved) return DEDUCED;
    if (resolved['x-kubernetes-int-or-string'] || node['x-kubernetes-int-or-string']) return SCALAR;
    const typeName = resolved.type;
    if (typeName && SCALAR_TYPES.has(typeName)) return SCALAR;
    if (typeName === 'array' || resolved.items) return this.#listType(node, resolved);
    const atomic = (node['x-kubernetes-map-type'] ?? resolved['x-kubernetes-map-type']) === 'atomic';
    if (resolved.properties) {
      const element = typeof resolved.additionalProperties === 'object' ? resolved.additionalProperties : undefined;
      return { kind: 'map', atomic, fields: resolved.properties, element };
    }
    if (typeName === 'object') {
      // A plain map, or an object with no declared shape (RawExtension):
      // a granular map of deduced values.
      const element = typeof resolved.additionalProperties === 'object' ? resolved.additionalProperties : undefined;
      return { kind: 'map', atomic, fields: undefined, element };
    }
    return DEDUCED;
  }

  #listType(node: SchemaNode, resolved: SchemaNode): ListType {
    const item = resolved.items;
    const listType = node['x-kubernetes-list-type'] ?? resolved['x-kubernetes-list-type'];
    const mergeKey = node['x-kubernetes-patch-merge-key'] ?? resolved['x-kubernetes-patch-merge-key'];
    const strategy = String(node['x-kubernetes-patch-strategy'] ?? resolved['x-kubernetes-patch-strategy'] ?? '');
    let atomic = true;
    let keys: readonly string[] = [];
    if (listType === 'atomic') {
      atomic = true;
    } else if (listType === 'set') {
      atomic = false;
    } else if (listType === 'map') {
      atomic = false;
      keys = node['x-kubernetes-list-map-keys'] ?? resolved['x-kubernetes-list-map-keys'] ?? (mergeKey ? [mergeKey] : []);
    } else if (strategy.split(',').includes('merge')) {
      atomic = false;
      keys = mergeKey ? [mergeKey] : [];
    }
    const itemName = item?.$ref?.replace('#/definitions/', '');
    const keyDefaults = (itemName && KEY_DEFAULTS[itemName]) || {};
    return { kind: 'list', atomic, keys, item, keyDefaults };
  }
}

/** The schema of `name` in a map type, and whether it is a named struct field. */
export function fieldOf(type: MapType, name: string): { schema: SchemaNode | undefined; named: boolean } {
  const field = type.fields && Object.hasOwn(type.fields, name) ? type.fields[name] : undefined;
  if (field) return { schema: field, named: true };
  return { schema: type.element, named: false };
}

/** A structural problem in a value (upstream's ValidationError: path, then message). */
export class ApplyValueError extends Error {}

/**
 * The path element naming `item` in an associative list (a key element, or a
 * value element for a set). Throws ApplyValueError with upstream's wording.
 */
export function listItemElement(type: ListType, item: unknown): PathElement {
  if (type.keys.length > 0) {
    if (item === null || item === undefined) throw new ApplyValueError('associative list with keys may not have a null element');
    if (!isObject(item)) throw new ApplyValueError('associative list with keys may not have non-map elements');
    const fields: [string, unknown][] = [];
    for (const key of type.keys) {
      const value = member(item, key);
      if (value !== undefined) fields.push([key, value]);
      else if (Object.hasOwn(type.keyDefaults, key)) fields.push([key, type.keyDefaults[key]]);
      // A key field neither set nor defaulted is left out: the element is
      // then a different entry than one that sets it.
    }
    if (fields.length === 0) {
      const quoted = type.keys.map((k) => JSON.stringify(k)).join(' ');
      throw new ApplyValueError(`associative list with keys has an element that omits all key fields [${quoted}] (and doesn't have default values for any key fields)`);
    }
    return keyElement(fields);
  }
  if (isObject(item)) throw new ApplyValueError("associative list without keys has an element that's a map type");
  if (Array.isArray(item)) throw new ApplyValueError("associative list without keys has an element that's a list type");
  return valueElement(item ?? null);
}

/**
 * How a value is handled under a type: as a leaf (scalars, atomic lists and
 * maps, and values whose JSON type does not fit the schema), or walked into as
 * an associative list or a granular map. Deduced values decide by their shape.
 */
export type Shape =
  | { readonly walk: 'leaf' }
  | { readonly walk: 'list'; readonly type: ListType }
  | { readonly walk: 'map'; readonly type: MapType };

const LEAF: Shape = { walk: 'leaf' };
const DEDUCED_MAP: MapType = { kind: 'map', atomic: false, fields: undefined, element: undefined };

/** Shape of `value` (which may be null) under `type`. */
export function shapeOf(type: TypeInfo, value: unknown): Shape {
  switch (type.kind) {
    case 'scalar':
      return LEAF;
    case 'deduced':
      return isObject(value) ? { walk: 'map', type: DEDUCED_MAP } : LEAF;
    case 'list':
      if (type.atomic) return LEAF;
      return value === null || Array.isArray(value) ? { walk: 'list', type } : LEAF;
    case 'map':
      if (type.atomic) return LEAF;
      return value === null || isObject(value) ? { walk: 'map', type } : LEAF;
  }
}
