// Extracts the schema *facts* skiff needs from the upstream Kubernetes OpenAPI
// document into a compact file of our own (no upstream prose is copied):
//
//   node tools/gen-schema.ts ../shared/kubernetes-api
//
// writes src/api/generated/openapi-facts.json:
//   definitions: every definition reachable from a served (GA) kind, with
//                types, formats, refs, required lists, enums and the
//                x-kubernetes-* patch/list/map facts; descriptions removed.
//   resources:   one entry per served resource (group, version, kind, plural,
//                namespaced, verbs, subresources), derived from the paths.
// The protobuf field-number facts are produced by tools/gen-proto-facts.ts.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';

type Json = any;

const sourceDir = process.argv[2] ?? '../shared/kubernetes-api';
const outFile = new URL('../src/api/generated/openapi-facts.json', import.meta.url).pathname;
const swagger: Json = JSON.parse(readFileSync(join(sourceDir, 'swagger.json'), 'utf8'));

/** GA versions only: v1, v2 … (no alpha/beta). */
const isStableVersion = (version: string) => /^v\d+$/.test(version);

interface ResourceFacts {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  verbs: string[];
  subresources: Record<string, { group: string; version: string; kind: string; verbs: string[] }>;
}

const actionToVerb: Record<string, string> = {
  get: 'get', list: 'list', post: 'create', put: 'update', patch: 'patch',
  delete: 'delete', deletecollection: 'deletecollection', watch: 'watch', 'watchlist': 'watch',
};

function collectResources(): ResourceFacts[] {
  const byKey = new Map<string, ResourceFacts>();
  for (const [path, item] of Object.entries<Json>(swagger.paths)) {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(?:(namespaces\/\{namespace\})\/)?([a-z0-9]+)(?:\/\{name\}(?:\/([a-z]+))?)?$/.exec(path);
    if (!m) continue;
    const version = m[1] ?? m[3];
    const group = m[1] ? '' : m[2];
    if (!isStableVersion(version)) continue;
    const namespacedPath = Boolean(m[4]);
    const plural = m[5];
    const subresource = m[6];
    if (plural === 'watch') continue;
    const key = `${group}/${version}/${plural}`;
    for (const [method, op] of Object.entries<Json>(item)) {
      if (method === 'parameters' || !op['x-kubernetes-action']) continue;
      const gvk = op['x-kubernetes-group-version-kind'];
      if (!gvk) continue;
      const verb = actionToVerb[op['x-kubernetes-action']];
      if (!verb) continue;
      if (subresource) {
        const parent = byKey.get(key) ?? newResource(key, { group, version, plural });
        const sub = parent.subresources[subresource] ??= { group: gvk.group, version: gvk.version, kind: gvk.kind, verbs: [] };
        if (!sub.verbs.includes(verb)) sub.verbs.push(verb);
        continue;
      }
      const resource = byKey.get(key) ?? newResource(key, { group, version, plural });
      resource.kind = gvk.kind;
      if (namespacedPath) resource.namespaced = true;
      if (!resource.verbs.includes(verb)) resource.verbs.push(verb);
    }
  }
  function newResource(key: string, base: { group: string; version: string; plural: string }): ResourceFacts {
    const r: ResourceFacts = { ...base, kind: '', namespaced: false, verbs: [], subresources: {} };
    byKey.set(key, r);
    return r;
  }
  // A resource whose only operations are subresources (none here) would have no kind.
  const verbOrder = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
  const list = [...byKey.values()].filter((r) => r.kind);
  for (const r of list) {
    // Watch operations live under the legacy /watch/ paths; anything listable is watchable.
    if (r.verbs.includes('list') && !r.verbs.includes('watch')) r.verbs.push('watch');
    r.verbs.sort((a, b) => verbOrder.indexOf(a) - verbOrder.indexOf(b));
    // Namespaced resources also have the all-namespaces list path; the namespaced flag
    // comes from the item path, so a resource is namespaced iff any namespaced path exists.
  }
  return list.sort((a, b) => `${a.group}/${a.version}/${a.plural}`.localeCompare(`${b.group}/${b.version}/${b.plural}`));
}

/** Remove prose and keep facts. */
function stripSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(stripSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'description') continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries<Json>(v as Json).map(([name, p]) => [name, stripSchema(p)]));
    } else {
      out[k] = stripSchema(v);
    }
  }
  return out;
}

function reachableDefinitions(roots: string[]): string[] {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name) || !swagger.definitions[name]) continue;
    seen.add(name);
    const text = JSON.stringify(swagger.definitions[name]);
    for (const m of text.matchAll(/"#\/definitions\/([^"]+)"/g)) stack.push(m[1]);
  }
  return [...seen].sort();
}

const resources = collectResources();
const servedKinds = new Set(resources.flatMap((r) => [
  `${r.group}/${r.version}/${r.kind}`,
  ...Object.values(r.subresources).map((s) => `${s.group}/${s.version}/${s.kind}`),
]));
const roots = Object.entries<Json>(swagger.definitions)
  .filter(([name, def]) => {
    const gvks: Json[] = def['x-kubernetes-group-version-kind'] ?? [];
    if (gvks.some((g) => servedKinds.has(`${g.group}/${g.version}/${g.kind}`))) return true;
    if (gvks.some((g) => servedKinds.has(`${g.group}/${g.version}/${String(g.kind).replace(/List$/, '')}`))) return true;
    // meta.k8s.io types the server itself returns (Status, Table, APIResourceList …)
    return name.startsWith('io.k8s.apimachinery.pkg.apis.meta.v1.');
  })
  .map(([name]) => name);

const definitions = Object.fromEntries(reachableDefinitions(roots).map((name) => [name, stripSchema(swagger.definitions[name])]));

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify({ source: 'Kubernetes 1.36 OpenAPI (facts only)', resources, definitions }) + '\n');
console.log(`wrote ${outFile}: ${resources.length} resources, ${Object.keys(definitions).length} definitions`);
