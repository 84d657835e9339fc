import { test } from 'node:test';
import assert from 'node:assert/strict';
import type protobuf from 'protobufjs';
import { parse } from 'yaml';
import { builtinKinds } from '../api/registry.ts';
import { OpenApi } from './openapi.ts';
import { openApiV2Type } from './openapi-v2-messages.ts';
import { encodeOpenApiV2Document } from './openapi-v2-proto.ts';

type Json = any;

/**
 * Decoded message → Swagger JSON, driven by the message types: oneof wrappers give
 * their one member, repeated Named* pairs (maps, vendor extensions) spread into the
 * parent object, Any is YAML, TypeItem/ItemsItem hold one value, `ref` is `$ref`.
 */
function toSwagger(type: protobuf.Type, message: Json): Json {
  if (type.name === 'Any') return parse(message.yaml, { version: '1.1' });
  if (type.name === 'TypeItem') return message.value.length === 1 ? message.value[0] : message.value;
  if (type.name === 'ItemsItem') return message.schema.length === 1 ? toSwagger(type.fieldsArray[0].resolvedType as protobuf.Type, message.schema[0]) : message.schema;
  const out: Json = {};
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (value === undefined) continue;
    const nested = field.resolvedType as protobuf.Type | null;
    const convert = (v: Json) => (nested ? toSwagger(nested, v) : v);
    if (type.oneofs?.oneof) return convert(value);
    if (field.repeated && nested?.name.startsWith('Named')) {
      const valueType = nested.fields.value.resolvedType as protobuf.Type | null;
      for (const pair of value) out[pair.name] = valueType ? toSwagger(valueType, pair.value) : pair.value;
    } else {
      out[field.name === 'ref' ? '$ref' : field.name] = field.repeated ? value.map(convert) : convert(value);
    }
  }
  return out;
}

/** What proto3 cannot carry: false, 0, "" and empty lists outside extension values (oneof booleans aside). */
function withoutDefaults(value: Json, key = ''): Json {
  if (key.startsWith('x-') || key === 'enum' || key === 'default' || key === 'example') return value;
  if (Array.isArray(value)) return value.map((v) => withoutDefaults(v));
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value)
    .filter(([k, v]) => k === 'additionalProperties' || !(v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0)))
    .map(([k, v]) => [k, withoutDefaults(v, k)]));
}

test('the served document survives encode → decode with every path, definition and extension', () => {
  const openapi = new OpenApi({ registry: builtinKinds() });
  const swagger = JSON.parse(openapi.v2Document());
  const type = openApiV2Type('Document');
  const bytes = encodeOpenApiV2Document(swagger);
  const decoded = type.toObject(type.decode(bytes), { longs: Number });
  assert.deepEqual(toSwagger(type, decoded), withoutDefaults(swagger));

  const configMap = decoded.definitions.additionalProperties.find((d: Json) => d.name === 'io.k8s.api.core.v1.ConfigMap');
  const gvk = configMap.value.vendorExtension.find((e: Json) => e.name === 'x-kubernetes-group-version-kind');
  // The YAML kubectl's yaml.v2 reads back: a list of maps whose group is the empty string.
  assert.equal(gvk.value.yaml, '- group: ""\n  kind: ConfigMap\n  version: v1\n');
});

test('the protobuf body is built once per server and shares the JSON ETag', () => {
  const openapi = new OpenApi({ registry: builtinKinds() });
  const proto = openapi.v2Body('protobuf');
  const json = openapi.v2Body('json');
  assert.equal(proto.contentType, 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
  assert.equal(json.contentType, 'application/json');
  assert.equal(proto.etag, json.etag);
  assert.match(proto.etag, /^"[0-9A-F]{128}"$/);
  assert.equal(openapi.v2Body('protobuf').body, proto.body);
});

test('bytes: document head fields in field-number order', () => {
  const bytes = encodeOpenApiV2Document({ info: { version: 'v', title: 'T' }, swagger: '2.0' });
  assert.deepEqual([...bytes], [
    0x0a, 3, ...Buffer.from('2.0'), // swagger = 1
    0x12, 6, 0x0a, 1, 0x54, 0x12, 1, 0x76, // info = 2 { title = 1 "T", version = 2 "v" }
  ]);
});

test('bytes: a definition with a type, a vendor extension and additionalProperties: false', () => {
  const bytes = encodeOpenApiV2Document({ definitions: { A: { type: 'object', additionalProperties: false, 'x-kubernetes-map-type': 'atomic' } } });
  const extension = [0x0a, 21, ...Buffer.from('x-kubernetes-map-type'), 0x12, 9, 0x12, 7, ...Buffer.from('atomic\n')];
  const schema = [
    0xaa, 0x01, 2, 0x10, 0x00, // additional_properties = 21 { boolean = 2: false } (a oneof keeps false)
    0xb2, 0x01, 8, 0x0a, 6, ...Buffer.from('object'), // type = 22 { value = 1 }
    0xfa, 0x01, extension.length, ...extension, // vendor_extension = 31 { name = 1, value = 2 { yaml = 2 } }
  ];
  const named = [0x0a, 1, 0x41, 0x12, schema.length, ...schema];
  assert.deepEqual([...bytes], [0x4a, named.length + 2, 0x0a, named.length, ...named]); // definitions = 9 { additional_properties = 1 }
});

test('bytes: parameters become the oneof member chosen by "in"', () => {
  const bytes = encodeOpenApiV2Document({ paths: { '/p': { parameters: [{ name: 'n', in: 'query', type: 'string', required: false }] } } });
  const query = [0x12, 5, ...Buffer.from('query'), 0x22, 1, 0x6e, 0x32, 6, ...Buffer.from('string')]; // in = 2, name = 4, type = 6
  const item = [0x0a, query.length + 4, 0x12, query.length + 2, 0x1a, query.length, ...query]; // parameter = 1 → non_body = 2 → query = 3
  const pathItem = [0x4a, item.length, ...item]; // parameters = 9
  const named = [0x0a, 2, ...Buffer.from('/p'), 0x12, pathItem.length, ...pathItem];
  assert.deepEqual([...bytes], [0x42, named.length + 2, 0x12, named.length, ...named]); // paths = 8 { path = 2 }
});

test('extension values are YAML 1.1, so strings Go would read as booleans stay strings', () => {
  const type = openApiV2Type('Document');
  const bytes = encodeOpenApiV2Document({ definitions: { A: { type: 'string', enum: ['on', 'yes', 'Never'], 'x-kubernetes-list-map-keys': ['name', 'y'] } } });
  const schema: Json = type.toObject(type.decode(bytes)).definitions.additionalProperties[0].value;
  assert.deepEqual(schema.enum.map((e: Json) => e.yaml), ['"on"\n', '"yes"\n', 'Never\n']);
  assert.equal(schema.vendorExtension[0].value.yaml, '- name\n- "y"\n');
});
