// The wire shape of the protobuf OpenAPI v2 document that kube-apiserver serves
// at /openapi/v2 for Accept `application/com.github.proto-openapi.spec.v2…+protobuf`:
// the gnostic `openapi.v2` messages (package openapi.v2, proto3). Only field names,
// numbers and types are recorded here, in a compact notation, and turned into a
// protobufjs Root on first use. Messages kube-apiserver never emits (security
// definitions, OAuth flows) are left out.
//
// Notation: space-separated `name=number[:type][*]`; the type defaults to string,
// `*` marks a repeated field. A leading `|` makes every field a member of one
// oneof called `oneof` (gnostic wraps every JSON "either/or" that way).
import protobuf from 'protobufjs';

export const OPENAPI_V2_PACKAGE = 'openapi.v2';

// Fields shared by the four non-body parameter kinds and by header/items
// schemas, after their leading fields: validation keywords in gnostic's order.
const validations = (first: number): string => [
  'maximum:double', 'exclusiveMaximum:bool', 'minimum:double', 'exclusiveMinimum:bool',
  'maxLength:int64', 'minLength:int64', 'pattern', 'maxItems:int64', 'minItems:int64',
  'uniqueItems:bool', 'enum:Any*', 'multipleOf:double',
].map((field, i) => field.replace(/^(\w+)/, `$1=${first + i}`)).join(' ');

/** Parameter sub-schemas: header and path (no allowEmptyValue) or query and form data. */
const nonBodyParameter = (allowEmpty: boolean): string => {
  const head = allowEmpty ? 'required=1:bool in=2 description=3 name=4 allowEmptyValue=5:bool' : 'required=1:bool in=2 description=3 name=4';
  const next = allowEmpty ? 6 : 5;
  return `${head} type=${next} format=${next + 1} items=${next + 2}:PrimitivesItems collectionFormat=${next + 3} default=${next + 4}:Any `
    + `${validations(next + 5)} vendorExtension=${next + 17}:NamedAny*`;
};

export const OPENAPI_V2_MESSAGES: Record<string, string> = {
  Document: 'swagger=1 info=2:Info host=3 basePath=4 schemes=5* consumes=6* produces=7* paths=8:Paths definitions=9:Definitions '
    + 'parameters=10:ParameterDefinitions responses=11:ResponseDefinitions security=12:SecurityRequirement* tags=14:Tag* '
    + 'externalDocs=15:ExternalDocs vendorExtension=16:NamedAny*',
  Info: 'title=1 version=2 description=3 termsOfService=4 contact=5:Contact license=6:License vendorExtension=7:NamedAny*',
  Contact: 'name=1 url=2 email=3 vendorExtension=4:NamedAny*',
  License: 'name=1 url=2 vendorExtension=3:NamedAny*',
  ExternalDocs: 'description=1 url=2 vendorExtension=3:NamedAny*',
  Tag: 'name=1 description=2 externalDocs=3:ExternalDocs vendorExtension=4:NamedAny*',
  SecurityRequirement: 'additionalProperties=1:NamedStringArray*',
  NamedStringArray: 'name=1 value=2:StringArray',
  StringArray: 'value=1*',

  Paths: 'vendorExtension=1:NamedAny* path=2:NamedPathItem*',
  NamedPathItem: 'name=1 value=2:PathItem',
  PathItem: 'ref=1 get=2:Operation put=3:Operation post=4:Operation delete=5:Operation options=6:Operation head=7:Operation '
    + 'patch=8:Operation parameters=9:ParametersItem* vendorExtension=10:NamedAny*',
  Operation: 'tags=1* summary=2 description=3 externalDocs=4:ExternalDocs operationId=5 produces=6* consumes=7* '
    + 'parameters=8:ParametersItem* responses=9:Responses schemes=10* deprecated=11:bool security=12:SecurityRequirement* '
    + 'vendorExtension=13:NamedAny*',

  ParametersItem: '|parameter=1:Parameter jsonReference=2:JsonReference',
  JsonReference: 'ref=1 description=2',
  Parameter: '|bodyParameter=1:BodyParameter nonBodyParameter=2:NonBodyParameter',
  BodyParameter: 'description=1 name=2 in=3 required=4:bool schema=5:Schema vendorExtension=6:NamedAny*',
  NonBodyParameter: '|headerParameterSubSchema=1:HeaderParameterSubSchema formDataParameterSubSchema=2:FormDataParameterSubSchema '
    + 'queryParameterSubSchema=3:QueryParameterSubSchema pathParameterSubSchema=4:PathParameterSubSchema',
  HeaderParameterSubSchema: nonBodyParameter(false),
  PathParameterSubSchema: nonBodyParameter(false),
  QueryParameterSubSchema: nonBodyParameter(true),
  FormDataParameterSubSchema: nonBodyParameter(true),
  PrimitivesItems: `type=1 format=2 items=3:PrimitivesItems collectionFormat=4 default=5:Any ${validations(6)} vendorExtension=18:NamedAny*`,
  ParameterDefinitions: 'additionalProperties=1:NamedParameter*',
  NamedParameter: 'name=1 value=2:Parameter',

  Responses: 'responseCode=1:NamedResponseValue* vendorExtension=2:NamedAny*',
  NamedResponseValue: 'name=1 value=2:ResponseValue',
  ResponseValue: '|response=1:Response jsonReference=2:JsonReference',
  Response: 'description=1 schema=2:SchemaItem headers=3:Headers examples=4:Examples vendorExtension=5:NamedAny*',
  ResponseDefinitions: 'additionalProperties=1:NamedResponse*',
  NamedResponse: 'name=1 value=2:Response',
  Headers: 'additionalProperties=1:NamedHeader*',
  NamedHeader: 'name=1 value=2:Header',
  Header: `type=1 format=2 items=3:PrimitivesItems collectionFormat=4 default=5:Any ${validations(6)} description=18 vendorExtension=19:NamedAny*`,
  Examples: 'additionalProperties=1:NamedAny*',
  SchemaItem: '|schema=1:Schema fileSchema=2:FileSchema',
  FileSchema: 'format=1 title=2 description=3 default=4:Any required=5* type=6 readOnly=7:bool externalDocs=8:ExternalDocs '
    + 'example=9:Any vendorExtension=10:NamedAny*',

  Definitions: 'additionalProperties=1:NamedSchema*',
  NamedSchema: 'name=1 value=2:Schema',
  Schema: 'ref=1 format=2 title=3 description=4 default=5:Any multipleOf=6:double maximum=7:double exclusiveMaximum=8:bool '
    + 'minimum=9:double exclusiveMinimum=10:bool maxLength=11:int64 minLength=12:int64 pattern=13 maxItems=14:int64 '
    + 'minItems=15:int64 uniqueItems=16:bool maxProperties=17:int64 minProperties=18:int64 required=19* enum=20:Any* '
    + 'additionalProperties=21:AdditionalPropertiesItem type=22:TypeItem items=23:ItemsItem allOf=24:Schema* '
    + 'properties=25:Properties discriminator=26 readOnly=27:bool xml=28:Xml externalDocs=29:ExternalDocs example=30:Any '
    + 'vendorExtension=31:NamedAny*',
  AdditionalPropertiesItem: '|schema=1:Schema boolean=2:bool',
  TypeItem: 'value=1*',
  ItemsItem: 'schema=1:Schema*',
  Properties: 'additionalProperties=1:NamedSchema*',
  Xml: 'name=1 namespace=2 prefix=3 attribute=4:bool wrapped=5:bool vendorExtension=6:NamedAny*',

  // Extension values and free-form JSON (defaults, enums, examples) travel as YAML text
  // in `yaml`; `value` is a google.protobuf.Any (type_url=1, value=2), never set here.
  NamedAny: 'name=1 value=2:Any',
  Any: 'value=1:ProtobufAny yaml=2',
  ProtobufAny: 'typeUrl=1 value=2:bytes',
};

const SCALARS = new Set(['string', 'bool', 'double', 'int64', 'bytes']);

let root: protobuf.Root | undefined;

/** The protobufjs types for the messages above, built once. */
export function openApiV2Root(): protobuf.Root {
  if (root) return root;
  const nested: Record<string, protobuf.IType> = {};
  for (const [message, notation] of Object.entries(OPENAPI_V2_MESSAGES)) nested[message] = parseMessage(message, notation);
  root = protobuf.Root.fromJSON({ nested: { openapi: { nested: { v2: { nested } } } } });
  root.resolveAll();
  return root;
}

/** One message type, e.g. `openApiV2Type('Document')`. */
export function openApiV2Type(message: string): protobuf.Type {
  return openApiV2Root().lookupType(`${OPENAPI_V2_PACKAGE}.${message}`);
}

function parseMessage(message: string, notation: string): protobuf.IType {
  const isOneof = notation.startsWith('|');
  const fields: Record<string, protobuf.IField> = {};
  for (const spec of notation.replace(/^\|/, '').split(' ')) {
    const m = /^(\w+)=(\d+)(?::(\w+))?(\*)?$/.exec(spec);
    if (!m) throw new Error(`openapi v2 message ${message}: bad field ${spec}`);
    const [, name, id, type = 'string', repeated] = m;
    if (!SCALARS.has(type) && !(type in OPENAPI_V2_MESSAGES)) throw new Error(`openapi v2 message ${message}: unknown type ${type}`);
    fields[name] = { id: Number(id), type, ...(repeated ? { rule: 'repeated' } : {}) };
  }
  return isOneof ? { fields, oneofs: { oneof: { oneof: Object.keys(fields) } } } : { fields };
}
