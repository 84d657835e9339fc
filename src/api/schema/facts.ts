// Access to the generated OpenAPI facts (src/api/generated/openapi-facts.json,
// made by tools/gen-schema.ts): resource list and definitions without prose.
import { readFileSync } from 'node:fs';

/** A schema node as stored in the facts file (an OpenAPI v2 schema without descriptions). */
export interface SchemaNode {
  type?: string;
  format?: string;
  $ref?: string;
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  required?: string[];
  enum?: unknown[];
  'x-kubernetes-group-version-kind'?: GroupVersionKind[];
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [extension: string]: unknown;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface SubresourceFacts extends GroupVersionKind {
  verbs: string[];
}

export interface ResourceFacts extends GroupVersionKind {
  plural: string;
  namespaced: boolean;
  verbs: string[];
  subresources: Record<string, SubresourceFacts>;
}

export interface SchemaFacts {
  resources: ResourceFacts[];
  definitions: Record<string, SchemaNode>;
}

let cached: SchemaFacts | undefined;

/** The facts file, read once per process. */
export function loadSchemaFacts(): SchemaFacts {
  cached ??= JSON.parse(readFileSync(new URL('../generated/openapi-facts.json', import.meta.url), 'utf8')) as SchemaFacts;
  return cached;
}

/** Definition name ("io.k8s.api.apps.v1.Deployment") for a kind, or undefined. */
export function definitionNameFor(gvk: GroupVersionKind, facts: SchemaFacts = loadSchemaFacts()): string | undefined {
  return definitionIndex(facts).get(gvkKey(gvk));
}

const indexes = new WeakMap<SchemaFacts, Map<string, string>>();
function definitionIndex(facts: SchemaFacts): Map<string, string> {
  let index = indexes.get(facts);
  if (!index) {
    index = new Map();
    for (const [name, def] of Object.entries(facts.definitions)) {
      for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) index.set(gvkKey(gvk), name);
    }
    indexes.set(facts, index);
  }
  return index;
}

const gvkKey = (gvk: GroupVersionKind) => `${gvk.group}/${gvk.version}/${gvk.kind}`;

/** Follow a `$ref` (if any) to the referenced definition. */
export function resolveSchema(node: SchemaNode | undefined, facts: SchemaFacts = loadSchemaFacts()): SchemaNode | undefined {
  let current = node;
  for (let depth = 0; current?.$ref && depth < 10; depth++) {
    current = facts.definitions[current.$ref.replace('#/definitions/', '')];
  }
  return current;
}

/**
 * The schema of a named property of an object schema (or of its map values).
 * Not resolved: the property node carries the x-kubernetes-* list facts next to
 * its `items`/`$ref`; pass it to resolveSchema for the type itself.
 */
export function propertySchema(node: SchemaNode | undefined, name: string, facts: SchemaFacts = loadSchemaFacts()): SchemaNode | undefined {
  const resolved = resolveSchema(node, facts);
  const prop = resolved?.properties?.[name];
  if (prop) return prop;
  if (resolved && typeof resolved.additionalProperties === 'object') return resolved.additionalProperties;
  return undefined;
}

/** The (resolved) schema of the items of an array schema. */
export function itemSchema(node: SchemaNode | undefined, facts: SchemaFacts = loadSchemaFacts()): SchemaNode | undefined {
  return resolveSchema(resolveSchema(node, facts)?.items, facts);
}

/** The root schema of a kind, resolved. */
export function kindSchema(gvk: GroupVersionKind, facts: SchemaFacts = loadSchemaFacts()): SchemaNode | undefined {
  const name = definitionNameFor(gvk, facts);
  return name ? facts.definitions[name] : undefined;
}
