// OpenAPI documents built from the project's schema facts: /openapi/v2 (one
// document) and /openapi/v3 (an index plus one document per group-version).
// kubectl needs, per kind, a PATCH operation carrying
// x-kubernetes-group-version-kind and a fieldValidation parameter (so
// `kubectl apply` validates on the server) and a components schema with the
// same GVK (so `kubectl explain` works). Descriptions are served only when the
// operator points the server at an upstream OpenAPI file.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KindRegistry, ResourceInfo } from '../api/registry.ts';
import { loadSchemaFacts, type SchemaNode } from '../api/schema/facts.ts';
import { encodeOpenApiV2Document } from './openapi-v2-proto.ts';

type Json = any;

const VERSION = 'v1.36.0';
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

/** The Content-Type of a protobuf /openapi/v2 answer (kube-apiserver uses it for both Accept spellings). */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
export type OpenApiV2Format = 'json' | 'protobuf';

/** One encoding of the v2 document, with what conditional requests need. */
export interface OpenApiV2Body {
  body: string | Uint8Array;
  contentType: string;
  /** Quoted; the same for both encodings (upstream varies the body by Accept, not the ETag). */
  etag: string;
  lastModified: Date;
}

export interface OpenApiOptions {
  registry: KindRegistry;
  /** Path of an upstream swagger.json whose descriptions are merged in (optional). */
  descriptionsFile?: string;
}

export class OpenApi {
  private readonly registry: KindRegistry;
  private readonly definitions: Record<string, SchemaNode>;
  private v2Text?: string;
  private v2Meta?: { etag: string; lastModified: Date };
  private v2Protobuf?: Uint8Array;
  private readonly v3Docs = new Map<string, { text: string; hash: string }>();

  constructor(options: OpenApiOptions) {
    this.registry = options.registry;
    const facts = loadSchemaFacts();
    this.definitions = options.descriptionsFile
      ? withDescriptions(facts.definitions, JSON.parse(readFileSync(options.descriptionsFile, 'utf8')).definitions ?? {})
      : facts.definitions;
  }

  /** The group-version keys of the v3 index: "api/v1", "apis/apps/v1" … */
  v3Keys(): string[] {
    const keys = new Set<string>();
    for (const r of this.registry.resources) keys.add(r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`);
    return [...keys];
  }

  v3Index(): string {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const key of this.v3Keys()) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${this.v3Document(key)!.hash}` };
    return JSON.stringify({ paths });
  }

  /** The v3 document for "apis/apps/v1", or undefined when not served. */
  v3Document(key: string): { text: string; hash: string } | undefined {
    const cached = this.v3Docs.get(key);
    if (cached) return cached;
    const m = /^(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(key);
    if (!m) return undefined;
    const group = m[1] ? '' : m[2];
    const version = m[1] ?? m[3];
    const resources = this.registry.resourcesIn(group, version);
    if (resources.length === 0) return undefined;
    const paths: Json = {};
    for (const r of resources) Object.assign(paths, resourcePaths(r, 'v3'));
    const doc = {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: VERSION },
      paths,
      components: { schemas: JSON.parse(JSON.stringify(this.definitions).replaceAll('#/definitions/', '#/components/schemas/')) },
    };
    const text = JSON.stringify(doc);
    const entry = { text, hash: createHash('sha512').update(text).digest('hex').slice(0, 64).toUpperCase() };
    this.v3Docs.set(key, entry);
    return entry;
  }

  v2Document(): string {
    if (!this.v2Text) {
      const paths: Json = {};
      for (const r of this.registry.resources) Object.assign(paths, resourcePaths(r, 'v2'));
      this.v2Text = JSON.stringify({ swagger: '2.0', info: { title: 'Kubernetes', version: VERSION }, paths, definitions: this.definitions });
    }
    return this.v2Text;
  }

  /** The v2 document in one format; each is built on first use and kept (a server's kinds do not change). */
  v2Body(format: OpenApiV2Format): OpenApiV2Body {
    const text = this.v2Document();
    this.v2Meta ??= { etag: `"${createHash('sha512').update(text).digest('hex').toUpperCase()}"`, lastModified: new Date() };
    if (format === 'json') return { body: text, contentType: 'application/json', ...this.v2Meta };
    this.v2Protobuf ??= encodeOpenApiV2Document(JSON.parse(text));
    return { body: this.v2Protobuf, contentType: OPENAPI_V2_PROTOBUF_CONTENT_TYPE, ...this.v2Meta };
  }
}

/** Paths and operations for one resource (collection, item, subresources). */
function resourcePaths(r: ResourceInfo, flavour: 'v2' | 'v3'): Json {
  const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const collection = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}` : `${prefix}/${r.plural}`;
  const item = `${collection}/{name}`;
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const defName = definitionRef(r.group, r.version, r.kind);
  const listName = definitionRef(r.group, r.version, r.listKind);
  const ref = (name: string | undefined) => (name ? { $ref: `${flavour === 'v2' ? '#/definitions/' : '#/components/schemas/'}${name}` } : {});
  const pathParams = (withName: boolean) => [
    ...(withName ? [param('name', 'path', true, flavour)] : []),
    ...(r.namespaced ? [param('namespace', 'path', true, flavour)] : []),
  ];
  const op = (action: string, verbLabel: string, options: { body?: string; bodyTypes?: string[]; response?: string; query?: string[]; gvkOverride?: Json }) => {
    const operation: Json = {
      operationId: `${verbLabel}${r.kind}`,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': options.gvkOverride ?? gvk,
      parameters: (options.query ?? []).map((q) => param(q, 'query', false, flavour)),
      responses: { '200': flavour === 'v2' ? { description: 'OK', schema: ref(options.response) } : { description: 'OK', content: { 'application/json': { schema: ref(options.response) } } } },
    };
    if (options.body) {
      if (flavour === 'v2') {
        operation.consumes = options.bodyTypes ?? ['*/*'];
        operation.parameters.push({ name: 'body', in: 'body', required: true, schema: ref(options.body) });
      } else {
        operation.requestBody = { required: true, content: Object.fromEntries((options.bodyTypes ?? ['*/*']).map((t) => [t, { schema: ref(options.body) }])) };
      }
    }
    return operation;
  };
  const writeQuery = ['dryRun', 'fieldManager', 'fieldValidation'];
  const paths: Json = {};
  const has = (verb: string) => r.verbs.includes(verb);
  const collectionOps: Json = { parameters: pathParams(false) };
  if (has('list')) collectionOps.get = op('list', 'list', { response: listName, query: ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'watch', 'timeoutSeconds'] });
  if (has('create')) collectionOps.post = op('post', 'create', { body: defName, response: defName, query: writeQuery });
  if (has('deletecollection')) collectionOps.delete = op('deletecollection', 'deletecollection', { response: 'io.k8s.apimachinery.pkg.apis.meta.v1.Status', query: ['labelSelector', 'fieldSelector'] });
  paths[collection] = collectionOps;
  const itemOps: Json = { parameters: pathParams(true) };
  if (has('get')) itemOps.get = op('get', 'read', { response: defName });
  if (has('update')) itemOps.put = op('put', 'replace', { body: defName, response: defName, query: writeQuery });
  if (has('patch')) itemOps.patch = op('patch', 'patch', { body: 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch', bodyTypes: PATCH_TYPES, response: defName, query: [...writeQuery, 'force'] });
  if (has('delete')) itemOps.delete = op('delete', 'delete', { response: 'io.k8s.apimachinery.pkg.apis.meta.v1.Status', query: ['dryRun', 'gracePeriodSeconds', 'propagationPolicy'] });
  if (Object.keys(itemOps).length > 1) paths[item] = itemOps;
  for (const [name, sub] of Object.entries(r.subresources)) {
    const subGvk = { group: sub.group, version: sub.version, kind: sub.kind };
    const subDef = definitionRef(sub.group, sub.version, sub.kind);
    const subOps: Json = { parameters: pathParams(true) };
    if (sub.verbs.includes('get')) subOps.get = op('get', `read${cap(name)}`, { response: subDef, gvkOverride: subGvk });
    if (sub.verbs.includes('update')) subOps.put = op('put', `replace${cap(name)}`, { body: subDef, response: subDef, query: writeQuery, gvkOverride: subGvk });
    if (sub.verbs.includes('patch')) subOps.patch = op('patch', `patch${cap(name)}`, { body: 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch', bodyTypes: PATCH_TYPES, response: subDef, query: [...writeQuery, 'force'], gvkOverride: subGvk });
    if (sub.verbs.includes('create')) subOps.post = op('post', `create${cap(name)}`, { body: subDef, response: subDef, query: writeQuery, gvkOverride: subGvk });
    paths[`${item}/${name}`] = subOps;
  }
  return paths;
}

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

function param(name: string, where: 'path' | 'query', required: boolean, flavour: 'v2' | 'v3'): Json {
  const type = ['limit', 'timeoutSeconds', 'gracePeriodSeconds'].includes(name) ? 'integer' : ['watch', 'force'].includes(name) ? 'boolean' : 'string';
  return flavour === 'v2'
    ? { name, in: where, required, type, uniqueItems: true }
    : { name, in: where, required, schema: { type, uniqueItems: true } };
}

let refIndex: Map<string, string> | undefined;
function definitionRef(group: string, version: string, kind: string): string | undefined {
  if (!refIndex) {
    refIndex = new Map();
    for (const [name, def] of Object.entries(loadSchemaFacts().definitions)) {
      for (const g of def['x-kubernetes-group-version-kind'] ?? []) refIndex.set(`${g.group}/${g.version}/${g.kind}`, name);
    }
  }
  return refIndex.get(`${group}/${version}/${kind}`);
}

/** Copy `description` fields from an upstream document onto our facts (for `kubectl explain`). */
function withDescriptions(facts: Record<string, SchemaNode>, upstream: Record<string, Json>): Record<string, SchemaNode> {
  const merge = (ours: Json, theirs: Json): Json => {
    if (!ours || typeof ours !== 'object' || !theirs || typeof theirs !== 'object') return ours;
    const out: Json = Array.isArray(ours) ? [...ours] : { ...ours };
    if (typeof theirs.description === 'string' && !Array.isArray(ours)) out.description = theirs.description;
    if (ours.properties && theirs.properties) {
      out.properties = Object.fromEntries(Object.entries<Json>(ours.properties).map(([k, v]) => [k, merge(v, theirs.properties[k])]));
    }
    if (ours.items && theirs.items) out.items = merge(ours.items, theirs.items);
    return out;
  };
  return Object.fromEntries(Object.entries(facts).map(([name, def]) => [name, merge(def, upstream[name])]));
}
