// Extracts the protobuf *facts* skiff needs to read and write Kubernetes protobuf
// bodies (application/vnd.kubernetes.protobuf) from the upstream generated.proto
// files into a compact file of our own (no upstream prose or .proto text is copied):
//
//   node tools/gen-proto-facts.ts ../shared/kubernetes-api/proto [swagger.json]
//
// writes src/api/generated/proto-facts.json:
//   groups:   API group → proto package prefix ("apps" → "k8s.io.api.apps"); the
//             message for apiVersion G/V, kind K is `${groups[G]}.${V}.${K}`.
//   lists:    messages that only wrap a list (`+protobuf.nullable=true`, e.g.
//             authentication/v1 ExtraValue); in JSON they are plain arrays.
//   messages: full message name → fields, each
//             [number, jsonName, type, flags?, mapKeyType?]
//             type is a scalar name (string, bool, bytes, int32, int64 …) or a full
//             message name; flags is a bit set: 1 repeated, 2 map (type is the
//             value type, mapKeyType the key type), 4 inline (the message's fields
//             appear in the parent JSON object, Go's `json:",inline"`), 8 required
//             (the JSON field has no omitempty, so an empty string is kept).
//
// Only stable API versions (v1, v2 …) and the apimachinery packages are kept.
// Proto field names are *nearly* the JSON names; the swagger document (default:
// swagger.json beside the proto directory) is used to correct the few that differ
// (e.g. BoundObjectReference.uID → uid) and to find inlined embedded structs.
import protobuf from 'protobufjs';
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync, mkdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';

type Json = any;
type FieldFact = [number, string, string, number?, string?];

export const FLAG_REPEATED = 1;
export const FLAG_MAP = 2;
export const FLAG_INLINE = 4;
export const FLAG_REQUIRED = 8;

/** Groups the swagger document has no definitions for, but whose messages exist. */
const EXTRA_GROUPS: Record<string, string> = {
  'admission.k8s.io': 'k8s.io.api.admission',
  'apidiscovery.k8s.io': 'k8s.io.api.apidiscovery',
};

function findProtoFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) findProtoFiles(path, out);
    else if (entry === 'generated.proto') out.push(path);
  }
  return out;
}

/** v1, v2 … are stable; v1beta1, v2alpha3 … are not. Unversioned packages are kept. */
function isStablePackage(pkg: string): boolean {
  const last = pkg.split('.').pop() ?? '';
  return !/^v\d+(alpha|beta)\d*$/.test(last);
}

function collectTypes(ns: protobuf.NamespaceBase, out: protobuf.Type[] = []): protobuf.Type[] {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) collectTypes(nested, out);
  }
  return out;
}

/** The swagger definition name for a proto message ("k8s.io.api.apps.v1.Deployment" → "io.k8s.api.apps.v1.Deployment"). */
const definitionName = (message: string) => message.replace(/^k8s\.io\./, 'io.k8s.');

export interface ProtoFacts {
  source: string;
  groups: Record<string, string>;
  lists: string[];
  messages: Record<string, FieldFact[]>;
}

export function generateProtoFacts(options: { protoDir: string; swaggerFile: string; log?: (line: string) => void }): ProtoFacts {
  const log = options.log ?? (() => {});
  const root = new protobuf.Root();
  for (const file of findProtoFiles(options.protoDir)) {
    // keepCase: field names as written (they are the JSON names, not camel-cased again);
    // alternateCommentMode: keep `//` comments so the +protobuf.nullable marker is visible.
    protobuf.parse(readFileSync(file, 'utf8'), root, { keepCase: true, alternateCommentMode: true });
  }
  root.resolveAll();
  const swagger: Json = JSON.parse(readFileSync(options.swaggerFile, 'utf8'));
  const definitions: Record<string, Json> = swagger.definitions;

  const types = collectTypes(root)
    .filter((t) => isStablePackage(t.parent!.fullName.slice(1)))
    .sort((a, b) => a.fullName.localeCompare(b.fullName));
  const byName = new Map(types.map((t) => [t.fullName.slice(1), t]));

  const lists = types
    .filter((t) => /\+protobuf\.nullable=true/.test(t.comment ?? '') && t.fieldsArray.length === 1 && t.fieldsArray[0].repeated)
    .map((t) => t.fullName.slice(1));

  const messages: Record<string, FieldFact[]> = {};
  let renamed = 0;
  let inlined = 0;
  for (const type of types) {
    const name = type.fullName.slice(1);
    const def = definitions[definitionName(name)];
    const properties: Record<string, Json> | undefined = def?.properties;
    const required = new Set<string>(def?.required ?? []);
    const facts: FieldFact[] = [];
    for (const field of [...type.fieldsArray].sort((a, b) => a.id - b.id)) {
      const resolved = field.resolvedType;
      const typeName = resolved ? resolved.fullName.slice(1) : field.type;
      if (resolved && !byName.has(typeName) && resolved instanceof protobuf.Type) {
        throw new Error(`${name}.${field.name} refers to ${typeName}, which is not in a kept package`);
      }
      let jsonName = field.name;
      let flags = 0;
      if (field.repeated) flags |= FLAG_REPEATED;
      if (field instanceof protobuf.MapField) flags |= FLAG_MAP;
      if (properties && !(jsonName in properties)) {
        const sameIgnoringCase = Object.keys(properties).find((p) => p.toLowerCase() === jsonName.toLowerCase());
        if (sameIgnoringCase) {
          // go-to-protobuf names a few fields after the Go field rather than the json tag.
          log(`rename ${name}.${jsonName} → ${sameIgnoringCase}`);
          jsonName = sameIgnoringCase;
          renamed++;
        } else if (resolved instanceof protobuf.Type && !field.repeated && coveredBy(resolved, properties)) {
          log(`inline ${name}.${jsonName} (${typeName})`);
          flags |= FLAG_INLINE;
          inlined++;
        } else {
          log(`warning: ${name}.${jsonName} has no JSON property in swagger; keeping the proto name`);
        }
      }
      if (required.has(jsonName)) flags |= FLAG_REQUIRED;
      const fact: FieldFact = [field.id, jsonName, typeName];
      if (flags) fact.push(flags);
      if (field instanceof protobuf.MapField) fact.push(field.keyType);
      facts.push(fact);
    }
    messages[name] = facts;
  }

  /** True when every JSON field of `inner` (following its own inlined members) is a property of the parent. */
  function coveredBy(inner: protobuf.Type, parentProperties: Record<string, Json>): boolean {
    const innerDef = definitions[definitionName(inner.fullName.slice(1))];
    const names = innerDef?.properties ? Object.keys(innerDef.properties) : expandInline(inner);
    return names.length > 0 && names.every((n) => n in parentProperties);
  }
  function expandInline(t: protobuf.Type): string[] {
    // Messages with no swagger definition (e.g. admissionregistration Rule) are only
    // ever used inline; their proto names are their JSON names.
    return t.fieldsArray.flatMap((f) =>
      f.resolvedType instanceof protobuf.Type && !definitions[definitionName(f.resolvedType.fullName.slice(1))] && !f.repeated
        ? expandInline(f.resolvedType)
        : [f.name]);
  }

  const groups: Record<string, string> = {};
  const packages = new Set(types.map((t) => t.parent!.fullName.slice(1).replace(/\.v\d+$/, '')));
  for (const [defName, def] of Object.entries<Json>(definitions)) {
    if (!defName.startsWith('io.k8s.api.')) continue;
    const pkg = defName.replace(/^io\.k8s\./, 'k8s.io.').split('.').slice(0, -2).join('.');
    if (!packages.has(pkg)) continue;
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) groups[gvk.group] ??= pkg;
  }
  for (const [group, pkg] of Object.entries(EXTRA_GROUPS)) if (packages.has(pkg)) groups[group] ??= pkg;
  const sortedGroups = Object.fromEntries(Object.entries(groups).sort(([a], [b]) => a.localeCompare(b)));

  log(`${types.length} messages, ${renamed} renamed fields, ${inlined} inlined fields, ${lists.length} list wrappers`);
  return { source: 'Kubernetes 1.36 generated.proto (facts only)', groups: sortedGroups, lists, messages };
}

/** One message per line: small diffs when upstream changes, still compact. */
export function formatProtoFacts(facts: ProtoFacts): string {
  const lines = Object.entries(facts.messages).map(([name, fields]) => `  ${JSON.stringify(name)}: ${JSON.stringify(fields)}`);
  return `{"source": ${JSON.stringify(facts.source)},\n"groups": ${JSON.stringify(facts.groups)},\n"lists": ${JSON.stringify(facts.lists)},\n"messages": {\n${lines.join(',\n')}\n}}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const protoDir = resolve(process.argv[2] ?? '../shared/kubernetes-api/proto');
  const swaggerFile = resolve(process.argv[3] ?? join(protoDir, '..', 'swagger.json'));
  if (!existsSync(swaggerFile)) throw new Error(`swagger document not found at ${swaggerFile} (pass it as the second argument)`);
  const outFile = new URL('../src/api/generated/proto-facts.json', import.meta.url).pathname;
  const facts = generateProtoFacts({ protoDir, swaggerFile, log: (line) => console.log(line) });
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, formatProtoFacts(facts));
  console.log(`wrote ${outFile}: ${Object.keys(facts.messages).length} messages, ${Object.keys(facts.groups).length} groups`);
}
