// Decodes Kubernetes protobuf bodies (application/vnd.kubernetes.protobuf) into the
// JSON shape the Kubernetes JSON API uses, driven by the generated field facts.
//
// Wire layout: the 4 bytes "k8s\0", then a runtime.Unknown {typeMeta{apiVersion,kind},
// raw, contentEncoding, contentType} whose `raw` is the object's own message.
//
// On zero values: Go clients (gogo-protobuf) write every non-pointer field, so a body
// from kubectl carries `generateName: ""`, `paused: false`, `minReadySeconds: 0` … while
// pointer fields (replicas, backoffLimit, gracePeriodSeconds …) are written only when
// set, and then a zero is meaningful. The wire cannot tell the two apart, so:
//   - integers and booleans on the wire are kept, zero or not (never lose `replicas: 0`);
//   - an empty singular string or bytes field is dropped unless the field is required
//     (no omitempty in Go) or listed in facts.ts KEEP_EMPTY_STRING: for the others Go's JSON
//     encoder would have omitted it, and "" would defeat defaulting (imagePullPolicy: "").
//   - an empty meta/v1 Time is Go's zero time, which JSON writes as null.
import protobuf from 'protobufjs';
import {
  KUBERNETES_PROTOBUF_CONTENT_TYPE, KUBERNETES_PROTOBUF_MAGIC, ProtobufDecodeError, SCALAR_TYPES,
  TYPE_DURATION, TYPE_FIELDS_V1, TYPE_INT_OR_STRING, TYPE_MICRO_TIME, TYPE_QUANTITY, TYPE_QUANTITY_VALUE,
  TYPE_RAW_EXTENSION, TYPE_TIME, isListWrapper, messageForKind, messageInfo,
  type FieldInfo,
} from './facts.ts';
import { formatDuration, formatTimestamp } from './wellknown.ts';

type Reader = protobuf.Reader;
type JsonObject = Record<string, unknown>;

export interface DecodeOptions {
  /** Nested messages deeper than this are refused (garbage or hostile input). Default 100. */
  maxDepth?: number;
}

export interface DecodedObject {
  apiVersion: string;
  kind: string;
  /** The object in its JSON shape, with apiVersion and kind set. */
  object: JsonObject;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

interface Context {
  depth: number;
  maxDepth: number;
}

/** True when the body starts with the Kubernetes protobuf magic "k8s\0". */
export function hasKubernetesProtobufMagic(body: Uint8Array): boolean {
  return body.length >= 4 && KUBERNETES_PROTOBUF_MAGIC.every((b, i) => body[i] === b);
}

/** Decodes a whole body: magic, runtime.Unknown envelope, then the object's message. */
export function decodeKubernetesProtobuf(body: Uint8Array, options: DecodeOptions = {}): DecodedObject {
  return decodeEnvelope(body, { depth: 0, maxDepth: options.maxDepth ?? 100 });
}

/** Decodes one message (no magic, no envelope) of a known type, e.g. a DeleteOptions body part. */
export function decodeProtobufMessage(typeName: string, bytes: Uint8Array, options: DecodeOptions = {}): JsonObject {
  if (!messageInfo(typeName)) throw new ProtobufDecodeError(`no protobuf facts for message ${typeName}`, 'UnsupportedKind');
  const ctx = { depth: 0, maxDepth: options.maxDepth ?? 100 };
  return guarded(() => {
    const reader = protobuf.Reader.create(bytes);
    const object: JsonObject = {};
    readMessage(reader, typeName, object, ctx, '');
    return object;
  });
}

function decodeEnvelope(body: Uint8Array, ctx: Context): DecodedObject {
  if (!hasKubernetesProtobufMagic(body)) {
    throw new ProtobufDecodeError('not a Kubernetes protobuf body: it does not start with the magic bytes "k8s\\x00"');
  }
  const envelope = guarded(() => readUnknown(protobuf.Reader.create(body.subarray(4))));
  const { apiVersion, kind, raw, contentEncoding, contentType } = envelope;
  if (!apiVersion || !kind) throw new ProtobufDecodeError('protobuf body has no apiVersion/kind in its runtime.Unknown envelope');
  if (contentEncoding) throw new ProtobufDecodeError(`unsupported contentEncoding ${JSON.stringify(contentEncoding)} in protobuf body`, 'UnsupportedKind');
  let object: JsonObject;
  if (contentType === 'application/json') {
    object = parseJsonObject(raw, 'raw');
  } else if (contentType && contentType !== KUBERNETES_PROTOBUF_CONTENT_TYPE) {
    throw new ProtobufDecodeError(`unsupported contentType ${JSON.stringify(contentType)} in protobuf body`, 'UnsupportedKind');
  } else {
    const typeName = messageForKind(apiVersion, kind);
    if (!typeName) throw new ProtobufDecodeError(`no protobuf message known for apiVersion ${JSON.stringify(apiVersion)}, kind ${JSON.stringify(kind)}`, 'UnsupportedKind');
    object = guarded(() => {
      const fields: JsonObject = {};
      readMessage(protobuf.Reader.create(raw), typeName, fields, ctx, '');
      return fields;
    });
  }
  return { apiVersion, kind, object: { apiVersion, kind, ...withoutTypeMeta(object) } };
}

function withoutTypeMeta(object: JsonObject): JsonObject {
  const { apiVersion: _a, kind: _k, ...rest } = object;
  return rest;
}

interface Unknown {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

/** runtime.Unknown: 1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType. */
function readUnknown(reader: Reader): Unknown {
  const out: Unknown = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '', contentType: '' };
  while (reader.pos < reader.len) {
    const [field, wire] = readTag(reader);
    if (field === 1 && wire === WIRE_LENGTH) {
      withLimit(reader, reader.size(), () => {
        while (reader.pos < reader.len) {
          const [f, w] = readTag(reader);
          if (f === 1 && w === WIRE_LENGTH) out.apiVersion = reader.string();
          else if (f === 2 && w === WIRE_LENGTH) out.kind = reader.string();
          else skipField(reader, w);
        }
      });
    } else if (field === 2 && wire === WIRE_LENGTH) out.raw = reader.bytes();
    else if (field === 3 && wire === WIRE_LENGTH) out.contentEncoding = reader.string();
    else if (field === 4 && wire === WIRE_LENGTH) out.contentType = reader.string();
    else skipField(reader, wire);
  }
  return out;
}

/** Reads the fields of `typeName` up to reader.len into `target` (merging, as protobuf does). */
function readMessage(reader: Reader, typeName: string, target: JsonObject, ctx: Context, path: string): void {
  const info = messageInfo(typeName);
  if (!info) throw new ProtobufDecodeError(`${path || '<root>'}: no protobuf facts for message ${typeName}`, 'UnsupportedKind');
  if (++ctx.depth > ctx.maxDepth) throw new ProtobufDecodeError(`${path || '<root>'}: messages nested deeper than ${ctx.maxDepth}`, 'TooDeep');
  while (reader.pos < reader.len) {
    const [number, wire] = readTag(reader);
    const field = info.byNumber.get(number);
    if (!field) { skipField(reader, wire); continue; } // unknown fields are dropped, as Go does
    const fieldPath = path ? `${path}.${field.name}` : field.name;
    if (field.map) readMapEntry(reader, field, wire, target, ctx, fieldPath);
    else if (field.repeated) readRepeated(reader, field, wire, target, ctx, fieldPath);
    else if (field.inline) {
      expectWire(wire, WIRE_LENGTH, fieldPath);
      withLimit(reader, reader.size(), () => readMessage(reader, field.type, target, ctx, path));
    } else readSingular(reader, field, wire, target, ctx, fieldPath);
  }
  ctx.depth--;
}

function readSingular(reader: Reader, field: FieldInfo, wire: number, target: JsonObject, ctx: Context, path: string): void {
  if (field.type === 'string' || field.type === 'bytes') {
    expectWire(wire, WIRE_LENGTH, path);
    const value = readScalar(reader, field.type, path);
    if (value !== '' || field.keepEmpty) target[field.name] = value;
    else if (field.name in target) delete target[field.name]; // a later "" overrides an earlier value
    return;
  }
  if (SCALAR_TYPES.has(field.type)) {
    expectWire(wire, WIRE_VARINT, path);
    target[field.name] = readScalar(reader, field.type, path);
    return;
  }
  expectWire(wire, WIRE_LENGTH, path);
  const existing = target[field.name];
  const mergeInto = isPlainObject(existing) && !isSpecial(field.type) ? existing : undefined;
  target[field.name] = readEmbedded(reader, field.type, ctx, path, mergeInto);
}

function readRepeated(reader: Reader, field: FieldInfo, wire: number, target: JsonObject, ctx: Context, path: string): void {
  const list = (Array.isArray(target[field.name]) ? target[field.name] : (target[field.name] = [])) as unknown[];
  const itemPath = `${path}[${list.length}]`;
  if (SCALAR_TYPES.has(field.type) && field.type !== 'string' && field.type !== 'bytes') {
    if (wire === WIRE_LENGTH) {
      // Packed encoding: parsers must accept it even though proto2 writers do not use it.
      withLimit(reader, reader.size(), () => {
        while (reader.pos < reader.len) list.push(readScalar(reader, field.type, itemPath));
      });
      return;
    }
    expectWire(wire, WIRE_VARINT, itemPath);
    list.push(readScalar(reader, field.type, itemPath));
    return;
  }
  expectWire(wire, WIRE_LENGTH, itemPath);
  list.push(SCALAR_TYPES.has(field.type) ? readScalar(reader, field.type, itemPath) : readEmbedded(reader, field.type, ctx, itemPath));
}

/** A map entry: a message {1: key, 2: value}. Missing parts take their zero values. */
function readMapEntry(reader: Reader, field: FieldInfo, wire: number, target: JsonObject, ctx: Context, path: string): void {
  expectWire(wire, WIRE_LENGTH, path);
  const map = (isPlainObject(target[field.name]) ? target[field.name] : (target[field.name] = {})) as JsonObject;
  let key = '';
  let value: unknown;
  withLimit(reader, reader.size(), () => {
    while (reader.pos < reader.len) {
      const [number, w] = readTag(reader);
      if (number === 1) {
        expectWire(w, WIRE_LENGTH, `${path} key`);
        key = String(readScalar(reader, field.mapKeyType ?? 'string', `${path} key`));
      } else if (number === 2) {
        const valuePath = `${path}[${JSON.stringify(key)}]`;
        if (SCALAR_TYPES.has(field.type)) {
          expectWire(w, field.type === 'string' || field.type === 'bytes' ? WIRE_LENGTH : WIRE_VARINT, valuePath);
          value = readScalar(reader, field.type, valuePath);
        } else {
          expectWire(w, WIRE_LENGTH, valuePath);
          value = readEmbedded(reader, field.type, ctx, valuePath);
        }
      } else skipField(reader, w);
    }
  });
  map[key] = value === undefined ? zeroValue(field.type) : value;
}

function zeroValue(type: string): unknown {
  switch (type) {
    case 'string': case 'bytes': return '';
    case 'bool': return false;
    case 'int32': case 'int64': return 0;
    default: return specialZero(type) ?? {};
  }
}

function specialZero(type: string): unknown {
  if (type === TYPE_QUANTITY || type === TYPE_QUANTITY_VALUE) return '0';
  if (type === TYPE_INT_OR_STRING) return 0;
  if (type === TYPE_DURATION) return '0s';
  if (type === TYPE_TIME || type === TYPE_MICRO_TIME || type === TYPE_RAW_EXTENSION || type === TYPE_FIELDS_V1) return null;
  if (isListWrapper(type)) return [];
  return undefined;
}

function isSpecial(type: string): boolean {
  return specialZero(type) !== undefined;
}

/** A length-delimited embedded message, converted to its JSON form. */
function readEmbedded(reader: Reader, type: string, ctx: Context, path: string, mergeInto?: JsonObject): unknown {
  const length = reader.size();
  return withLimit(reader, length, () => {
    if (length === 0) {
      const zero = specialZero(type);
      if (zero !== undefined) return zero;
    }
    switch (type) {
      case TYPE_TIME: case TYPE_MICRO_TIME: {
        const parts = readNumbers(reader);
        try {
          return formatTimestamp({ seconds: parts.get(1) ?? 0n, nanos: Number(parts.get(2) ?? 0n) }, type === TYPE_TIME ? 'seconds' : 'micros');
        } catch (err) {
          throw new ProtobufDecodeError(`${path}: ${(err as Error).message}`);
        }
      }
      case TYPE_DURATION:
        return formatDuration(readNumbers(reader).get(1) ?? 0n);
      case TYPE_QUANTITY: case TYPE_QUANTITY_VALUE:
        return readStringField(reader, path) || '0';
      case TYPE_INT_OR_STRING: return readIntOrString(reader, path);
      case TYPE_RAW_EXTENSION: case TYPE_FIELDS_V1: {
        const raw = readBytesField(reader, path);
        return raw && raw.length > 0 ? parseEmbedded(raw, ctx, path) : null;
      }
    }
    if (isListWrapper(type)) {
      const holder: JsonObject = {};
      readMessage(reader, type, holder, ctx, path);
      return Array.isArray(holder.items) ? holder.items : [];
    }
    const object = mergeInto ?? {};
    readMessage(reader, type, object, ctx, path);
    return object;
  });
}

/** IntOrString {1 type, 2 intVal, 3 strVal}: type 1 is a string, anything else an int. */
function readIntOrString(reader: Reader, path: string): number | string {
  let type = 0n;
  let intVal = 0;
  let strVal = '';
  while (reader.pos < reader.len) {
    const [number, wire] = readTag(reader);
    if (number === 1) { expectWire(wire, WIRE_VARINT, path); type = toBigInt(reader.int64()); }
    else if (number === 2) { expectWire(wire, WIRE_VARINT, path); intVal = reader.int32(); }
    else if (number === 3) { expectWire(wire, WIRE_LENGTH, path); strVal = reader.string(); }
    else skipField(reader, wire);
  }
  return type === 1n ? strVal : intVal;
}

/** Varint fields of a small message by number (Time, MicroTime, Duration); others are skipped. */
function readNumbers(reader: Reader): Map<number, bigint> {
  const out = new Map<number, bigint>();
  while (reader.pos < reader.len) {
    const [number, wire] = readTag(reader);
    if (wire === WIRE_VARINT) out.set(number, toBigInt(reader.int64()));
    else skipField(reader, wire);
  }
  return out;
}

/** Field 1 of a message holding one string (Quantity). */
function readStringField(reader: Reader, path: string): string {
  let value = '';
  while (reader.pos < reader.len) {
    const [number, wire] = readTag(reader);
    if (number === 1) { expectWire(wire, WIRE_LENGTH, path); value = reader.string(); } else skipField(reader, wire);
  }
  return value;
}

function readBytesField(reader: Reader, path: string): Uint8Array | undefined {
  let raw: Uint8Array | undefined;
  while (reader.pos < reader.len) {
    const [number, wire] = readTag(reader);
    if (number === 1) { expectWire(wire, WIRE_LENGTH, path); raw = reader.bytes(); } else skipField(reader, wire);
  }
  return raw;
}

/** RawExtension / FieldsV1 bytes: JSON, or an embedded Kubernetes protobuf object. */
function parseEmbedded(raw: Uint8Array, ctx: Context, path: string): unknown {
  if (hasKubernetesProtobufMagic(raw)) {
    if (++ctx.depth > ctx.maxDepth) throw new ProtobufDecodeError(`${path}: messages nested deeper than ${ctx.maxDepth}`, 'TooDeep');
    const inner = decodeEnvelope(raw, ctx).object;
    ctx.depth--;
    return inner;
  }
  return parseJson(raw, path);
}

function parseJson(raw: Uint8Array, path: string): unknown {
  try {
    return JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
  } catch (err) {
    throw new ProtobufDecodeError(`${path}: embedded bytes are neither JSON nor Kubernetes protobuf (${(err as Error).message})`);
  }
}

function parseJsonObject(raw: Uint8Array, path: string): JsonObject {
  const value = parseJson(raw, path);
  if (!isPlainObject(value)) throw new ProtobufDecodeError(`${path}: embedded JSON is not an object`);
  return value;
}

function readScalar(reader: Reader, type: string, path: string): string | number | boolean {
  switch (type) {
    case 'string': return reader.string();
    case 'bytes': return Buffer.from(reader.bytes()).toString('base64');
    case 'bool': return reader.bool();
    case 'int32': return reader.int32();
    case 'int64': return Number(toBigInt(reader.int64()));
    default: throw new ProtobufDecodeError(`${path}: unsupported scalar type ${type}`);
  }
}

function toBigInt(value: unknown): bigint {
  if (typeof value === 'number') return BigInt(value);
  // protobufjs returns a Long when the `long` package is installed.
  return BigInt(String(value));
}

function readTag(reader: Reader): [number, number] {
  const tag = reader.uint32();
  const number = tag >>> 3;
  if (number === 0) throw new ProtobufDecodeError(`invalid field number 0 at byte ${reader.pos}`);
  return [number, tag & 7];
}

function expectWire(actual: number, expected: number, path: string): void {
  if (actual !== expected) throw new ProtobufDecodeError(`${path}: wire type ${actual}, expected ${expected}`);
}

/** Skips one field. Groups (wire types 3 and 4) are refused: Kubernetes never writes them. */
function skipField(reader: Reader, wire: number): void {
  switch (wire) {
    case WIRE_VARINT: reader.uint64(); return; // throws on a varint longer than 10 bytes
    case WIRE_FIXED64: reader.skip(8); return;
    case WIRE_LENGTH: reader.skip(reader.size()); return;
    case WIRE_FIXED32: reader.skip(4); return;
    default: throw new ProtobufDecodeError(`unsupported wire type ${wire} at byte ${reader.pos}`);
  }
}

/** Runs `read` with the reader bounded to the next `length` bytes, then checks it consumed exactly them. */
function withLimit<T>(reader: Reader, length: number, read: () => T): T {
  const end = reader.pos + length;
  if (end > reader.len) throw new ProtobufDecodeError(`length ${length} at byte ${reader.pos} runs past the end of its message`);
  const outer = reader.len;
  reader.len = end;
  const value = read();
  if (reader.pos !== end) throw new ProtobufDecodeError(`message ending at byte ${end} was not fully read`);
  reader.len = outer;
  return value;
}

/** Turns protobufjs' RangeError/Error on truncated or invalid varints into ProtobufDecodeError. */
function guarded<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof ProtobufDecodeError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new ProtobufDecodeError(`malformed protobuf: ${message}`);
  }
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
