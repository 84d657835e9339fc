// Encodes a Swagger 2.0 document (the JSON served at /openapi/v2) as the gnostic
// `openapi.v2.Document` protobuf message, the form kubectl asks for and decodes
// before client-side validation (`apply` of a kind: List, --validate=strict
// without server-side field validation). The mapping follows how gnostic reads a
// Swagger document: "either/or" JSON values become oneof wrappers, JSON maps become
// repeated Named* pairs in document order, `x-…` keys become vendor extensions
// whose values (like defaults, enums and examples) are carried as YAML text.
// Scalars equal to their proto3 default are left out, as Go's marshaller does;
// empty messages are kept, since presence matters to readers (`properties: {}`).
import { stringify } from 'yaml';
import { openApiV2Type } from './openapi-v2-messages.ts';

type Json = any;
type Message = Record<string, unknown>;

/** The protobuf bytes of a Swagger 2.0 document given in its JSON form. */
export function encodeOpenApiV2Document(swagger: Json): Uint8Array {
  return openApiV2Type('Document').encode(documentMessage(swagger)).finish();
}

/** The message object (protobufjs field names) for a Swagger 2.0 document. */
export function documentMessage(d: Json): Message {
  return fields({
    swagger: d.swagger,
    info: d.info && fields({
      title: d.info.title, version: d.info.version, description: d.info.description, termsOfService: d.info.termsOfService,
      contact: d.info.contact && fields({ name: d.info.contact.name, url: d.info.contact.url, email: d.info.contact.email, vendorExtension: extensions(d.info.contact) }),
      license: d.info.license && fields({ name: d.info.license.name, url: d.info.license.url, vendorExtension: extensions(d.info.license) }),
      vendorExtension: extensions(d.info),
    }),
    host: d.host,
    basePath: d.basePath,
    schemes: d.schemes,
    consumes: d.consumes,
    produces: d.produces,
    paths: d.paths && fields({
      vendorExtension: extensions(d.paths),
      path: named(withoutExtensions(d.paths), pathItem),
    }),
    definitions: d.definitions && { additionalProperties: named(d.definitions, schema) },
    parameters: d.parameters && { additionalProperties: named(d.parameters, parameter) },
    responses: d.responses && { additionalProperties: named(d.responses, response) },
    security: d.security?.map(securityRequirement),
    tags: d.tags?.map((t: Json) => fields({ name: t.name, description: t.description, externalDocs: externalDocs(t.externalDocs), vendorExtension: extensions(t) })),
    externalDocs: externalDocs(d.externalDocs),
    vendorExtension: extensions(d),
  });
}

function pathItem(p: Json): Message {
  return fields({
    ref: p.$ref,
    get: operation(p.get), put: operation(p.put), post: operation(p.post), delete: operation(p.delete),
    options: operation(p.options), head: operation(p.head), patch: operation(p.patch),
    parameters: p.parameters?.map(parametersItem),
    vendorExtension: extensions(p),
  });
}

function operation(o: Json): Message | undefined {
  if (!o) return undefined;
  return fields({
    tags: o.tags, summary: o.summary, description: o.description, externalDocs: externalDocs(o.externalDocs),
    operationId: o.operationId, produces: o.produces, consumes: o.consumes,
    parameters: o.parameters?.map(parametersItem),
    responses: o.responses && fields({
      responseCode: named(withoutExtensions(o.responses), (r: Json) => (r.$ref ? { jsonReference: jsonReference(r) } : { response: response(r) })),
      vendorExtension: extensions(o.responses),
    }),
    schemes: o.schemes, deprecated: o.deprecated,
    security: o.security?.map(securityRequirement),
    vendorExtension: extensions(o),
  });
}

const parametersItem = (p: Json): Message => (p.$ref ? { jsonReference: jsonReference(p) } : { parameter: parameter(p) });

const jsonReference = (r: Json): Message => fields({ ref: r.$ref, description: r.description });

/** A body parameter, or one of the four non-body kinds chosen by `in`. */
function parameter(p: Json): Message {
  if (p.in === 'body') {
    return { bodyParameter: fields({ description: p.description, name: p.name, in: p.in, required: p.required, schema: p.schema && schema(p.schema), vendorExtension: extensions(p) }) };
  }
  const kind = ({ header: 'headerParameterSubSchema', formData: 'formDataParameterSubSchema', query: 'queryParameterSubSchema', path: 'pathParameterSubSchema' } as Record<string, string>)[p.in];
  if (!kind) throw new Error(`openapi v2: parameter ${p.name} has unknown "in": ${p.in}`);
  return { nonBodyParameter: { [kind]: fields({ required: p.required, in: p.in, description: p.description, name: p.name, allowEmptyValue: p.allowEmptyValue, ...primitive(p)}) } };
}

/** The fields parameters, headers and items share (the names are the same in all three messages). */
function primitive(p: Json): Message {
  return {
    type: p.type, format: p.format, items: p.items && fields(primitive(p.items)), collectionFormat: p.collectionFormat, default: any(p.default),
    ...validations(p), enum: p.enum?.map(any), vendorExtension: extensions(p),
  };
}

function validations(s: Json): Message {
  return {
    multipleOf: s.multipleOf, maximum: s.maximum, exclusiveMaximum: s.exclusiveMaximum, minimum: s.minimum, exclusiveMinimum: s.exclusiveMinimum,
    maxLength: s.maxLength, minLength: s.minLength, pattern: s.pattern, maxItems: s.maxItems, minItems: s.minItems, uniqueItems: s.uniqueItems,
  };
}

function response(r: Json): Message {
  return fields({
    description: r.description,
    schema: r.schema && (r.schema.type === 'file' ? { fileSchema: fileSchema(r.schema) } : { schema: schema(r.schema) }),
    headers: r.headers && { additionalProperties: named(r.headers, (h: Json) => fields({ ...primitive(h), description: h.description })) },
    examples: r.examples && { additionalProperties: named(r.examples, any) },
    vendorExtension: extensions(r),
  });
}

function fileSchema(s: Json): Message {
  return fields({
    format: s.format, title: s.title, description: s.description, default: any(s.default), required: s.required, type: s.type,
    readOnly: s.readOnly, externalDocs: externalDocs(s.externalDocs), example: any(s.example), vendorExtension: extensions(s),
  });
}

function schema(s: Json): Message {
  return fields({
    ref: s.$ref, format: s.format, title: s.title, description: s.description, default: any(s.default),
    ...validations(s), maxProperties: s.maxProperties, minProperties: s.minProperties,
    required: s.required, enum: s.enum?.map(any),
    additionalProperties: typeof s.additionalProperties === 'boolean' ? { boolean: s.additionalProperties }
      : s.additionalProperties ? { schema: schema(s.additionalProperties) } : undefined,
    type: s.type === undefined ? undefined : { value: [s.type].flat() },
    items: s.items === undefined ? undefined : { schema: [s.items].flat().map(schema) },
    allOf: s.allOf?.map(schema),
    properties: s.properties && { additionalProperties: named(s.properties, schema) },
    discriminator: s.discriminator, readOnly: s.readOnly,
    xml: s.xml && fields({ name: s.xml.name, namespace: s.xml.namespace, prefix: s.xml.prefix, attribute: s.xml.attribute, wrapped: s.xml.wrapped, vendorExtension: extensions(s.xml) }),
    externalDocs: externalDocs(s.externalDocs), example: any(s.example),
    vendorExtension: extensions(s),
  });
}

const externalDocs = (e: Json): Message | undefined => e && fields({ description: e.description, url: e.url, vendorExtension: extensions(e) });

const securityRequirement = (r: Json): Message => ({ additionalProperties: named(r, (scopes: string[]) => fields({ value: scopes })) });

/** A free-form JSON value as gnostic carries it: YAML text (YAML 1.1, what Go's yaml.v2 reads back). */
function any(value: unknown): Message | undefined {
  if (value === undefined) return undefined;
  return { yaml: stringify(value, { version: '1.1', lineWidth: 0 }) };
}

function extensions(o: Json): Message[] {
  return Object.entries<unknown>(o ?? {}).filter(([key]) => key.startsWith('x-')).map(([name, value]) => ({ name, value: any(value) }));
}

function withoutExtensions(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([key]) => !key.startsWith('x-')));
}

function named<T>(map: Record<string, T>, convert: (value: T) => Message | undefined): Message[] {
  return Object.entries(map).map(([name, value]) => ({ name, value: convert(value) }));
}

/** Drops what proto3 does not write: absent values, scalar defaults (false, 0, ""), empty lists. */
function fields(message: Message): Message {
  const out: Message = {};
  for (const [key, value] of Object.entries(message)) {
    if (value === undefined || value === null || value === false || value === 0 || value === '') continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  return out;
}
