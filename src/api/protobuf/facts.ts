// Access to the generated protobuf facts (src/api/generated/proto-facts.json, made by
// tools/gen-proto-facts.ts): which message a kind is, and each message's fields with
// their wire numbers and JSON names. Also the error types shared by decode and encode.
import { readFileSync } from 'node:fs';

/** Bits of a field's flags (see tools/gen-proto-facts.ts). */
export const FLAG_REPEATED = 1;
export const FLAG_MAP = 2;
export const FLAG_INLINE = 4;
export const FLAG_REQUIRED = 8;

/** [number, jsonName, type, flags?, mapKeyType?] as stored in the facts file. */
export type FieldFact = [number, string, string, number?, string?];

export interface ProtoFacts {
  source: string;
  groups: Record<string, string>;
  lists: string[];
  messages: Record<string, FieldFact[]>;
}

export interface FieldInfo {
  number: number;
  name: string;
  /** Scalar name (string, bool, bytes, int32, int64) or full message name; for maps, the value type. */
  type: string;
  repeated: boolean;
  map: boolean;
  inline: boolean;
  required: boolean;
  /** An empty string on the wire is kept (required field, or a pointer where "" means something). */
  keepEmpty: boolean;
  mapKeyType?: string;
}

export interface MessageInfo {
  name: string;
  /** In field-number order (the order Go writes them). */
  fields: FieldInfo[];
  byNumber: Map<number, FieldInfo>;
}

export type ProtobufErrorReason = 'Malformed' | 'UnsupportedKind' | 'TooDeep' | 'Invalid';

/** A body that is not a well-formed Kubernetes protobuf message (or one we have no facts for). */
export class ProtobufDecodeError extends Error {
  override name = 'ProtobufDecodeError';
  readonly reason: ProtobufErrorReason;
  constructor(message: string, reason: ProtobufErrorReason = 'Malformed') {
    super(message);
    this.reason = reason;
  }
}

/** An object that cannot be written as a Kubernetes protobuf message. */
export class ProtobufEncodeError extends Error {
  override name = 'ProtobufEncodeError';
  readonly reason: ProtobufErrorReason;
  constructor(message: string, reason: ProtobufErrorReason = 'Invalid') {
    super(message);
    this.reason = reason;
  }
}

/** The 4 bytes that start every Kubernetes protobuf body: "k8s\0". */
export const KUBERNETES_PROTOBUF_MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);
export const KUBERNETES_PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

export const TYPE_TIME = 'k8s.io.apimachinery.pkg.apis.meta.v1.Time';
export const TYPE_MICRO_TIME = 'k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime';
export const TYPE_DURATION = 'k8s.io.apimachinery.pkg.apis.meta.v1.Duration';
export const TYPE_FIELDS_V1 = 'k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1';
export const TYPE_QUANTITY = 'k8s.io.apimachinery.pkg.api.resource.Quantity';
export const TYPE_QUANTITY_VALUE = 'k8s.io.apimachinery.pkg.api.resource.QuantityValue';
export const TYPE_INT_OR_STRING = 'k8s.io.apimachinery.pkg.util.intstr.IntOrString';
export const TYPE_RAW_EXTENSION = 'k8s.io.apimachinery.pkg.runtime.RawExtension';
const META_V1 = 'k8s.io.apimachinery.pkg.apis.meta.v1';

export const SCALAR_TYPES = new Set(['string', 'bytes', 'bool', 'int32', 'int64']);

let cached: ProtoFacts | undefined;

/** The facts file, read once per process. */
export function loadProtoFacts(): ProtoFacts {
  cached ??= JSON.parse(readFileSync(new URL('../generated/proto-facts.json', import.meta.url), 'utf8')) as ProtoFacts;
  return cached;
}

/**
 * Pointer string fields whose empty value means something ("" = no storage class), so
 * the decoder keeps "" for them although it drops other empty strings (see decode.ts).
 */
const KEEP_EMPTY_STRING = new Set([
  'k8s.io.api.core.v1.PersistentVolumeClaimSpec.storageClassName',
  'k8s.io.api.core.v1.PersistentVolumeClaimSpec.volumeAttributesClassName',
]);

const messageCache = new Map<string, MessageInfo | null>();
let listCache: Set<string> | undefined;

/** Field facts of a message, or undefined when the facts do not know it. */
export function messageInfo(name: string): MessageInfo | undefined {
  let info = messageCache.get(name);
  if (info === undefined) {
    const raw = loadProtoFacts().messages[name];
    info = raw ? toMessageInfo(name, raw) : null;
    messageCache.set(name, info);
  }
  return info ?? undefined;
}

function toMessageInfo(name: string, raw: FieldFact[]): MessageInfo {
  const fields = raw.map(([number, fieldName, type, flags = 0, mapKeyType]): FieldInfo => ({
    number,
    name: fieldName,
    type,
    repeated: (flags & FLAG_REPEATED) !== 0 && (flags & FLAG_MAP) === 0,
    map: (flags & FLAG_MAP) !== 0,
    inline: (flags & FLAG_INLINE) !== 0,
    required: (flags & FLAG_REQUIRED) !== 0,
    keepEmpty: (flags & FLAG_REQUIRED) !== 0 || KEEP_EMPTY_STRING.has(`${name}.${fieldName}`),
    mapKeyType,
  }));
  return { name, fields, byNumber: new Map(fields.map((f) => [f.number, f])) };
}

/** Messages whose only field is a repeated `items` (Go `[]string` map values): JSON arrays. */
export function isListWrapper(name: string): boolean {
  listCache ??= new Set(loadProtoFacts().lists);
  return listCache.has(name);
}

/**
 * The message for apiVersion + kind ("apps/v1" + "Deployment" →
 * "k8s.io.api.apps.v1.Deployment"). The meta.k8s.io types (DeleteOptions, Status,
 * Table, WatchEvent …) are accepted under any group, as the API server registers
 * them in every group version.
 */
export function messageForKind(apiVersion: string, kind: string): string | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (!version || !kind || !/^[A-Za-z0-9]+$/.test(version) || !/^[A-Za-z0-9]+$/.test(kind)) return undefined;
  const pkg = loadProtoFacts().groups[group];
  const candidates = [pkg && `${pkg}.${version}.${kind}`, version === 'v1' && `${META_V1}.${kind}`];
  for (const candidate of candidates) if (candidate && messageInfo(candidate)) return candidate;
  return undefined;
}
