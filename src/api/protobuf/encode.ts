// Encodes a Kubernetes object in its JSON shape as a Kubernetes protobuf body (the
// inverse of decode.ts): the magic "k8s\0", then runtime.Unknown{typeMeta, raw,
// contentEncoding, contentType} with the object's message in `raw`. Fields are written
// in field-number order and map entries sorted by key, as Go's stable marshaller does,
// so equal objects give equal bytes.
import protobuf from 'protobufjs';
import {
  KUBERNETES_PROTOBUF_MAGIC, ProtobufEncodeError, SCALAR_TYPES,
  TYPE_DURATION, TYPE_FIELDS_V1, TYPE_INT_OR_STRING, TYPE_MICRO_TIME, TYPE_QUANTITY, TYPE_QUANTITY_VALUE,
  TYPE_RAW_EXTENSION, TYPE_TIME, isListWrapper, messageForKind, messageInfo,
  type FieldInfo,
} from './facts.ts';
import { parseDuration, parseTimestamp } from './wellknown.ts';

type Writer = protobuf.Writer;
type JsonObject = Record<string, unknown>;

export interface EncodeOptions {
  /** Refuse fields the facts do not know (default: drop them, as Go's JSON decoding would). */
  strict?: boolean;
  /**
   * How RawExtension values that are whole objects (apiVersion + kind) are written:
   * 'json' (default; what Go stores for objects it only passes through) or 'protobuf'
   * (magic + envelope; what a protobuf watch stream or List carries).
   */
  embeddedObjects?: 'json' | 'protobuf';
  /** Objects nested deeper than this are refused. Default 100. */
  maxDepth?: number;
}

interface Context {
  strict: boolean;
  embeddedObjects: 'json' | 'protobuf';
  depth: number;
  maxDepth: number;
}

const WIRE_VARINT = 0;
const WIRE_LENGTH = 2;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const tag = (number: number, wire: number) => ((number << 3) | wire) >>> 0;

function context(options: EncodeOptions): Context {
  return { strict: options.strict ?? false, embeddedObjects: options.embeddedObjects ?? 'json', depth: 0, maxDepth: options.maxDepth ?? 100 };
}

/** The whole body for an object with apiVersion and kind. */
export function encodeKubernetesProtobuf(object: JsonObject, options: EncodeOptions = {}): Uint8Array {
  return encodeEnvelope(object, context(options), '');
}

/** One message (no magic, no envelope) of a known type. */
export function encodeProtobufMessage(typeName: string, object: JsonObject, options: EncodeOptions = {}): Uint8Array {
  if (!messageInfo(typeName)) throw new ProtobufEncodeError(`no protobuf facts for message ${typeName}`, 'UnsupportedKind');
  const writer = protobuf.Writer.create();
  writeMessage(writer, typeName, object, context(options), '', undefined);
  return writer.finish();
}

function encodeEnvelope(object: JsonObject, ctx: Context, path: string): Uint8Array {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !apiVersion || !kind) {
    throw new ProtobufEncodeError(`${path || '<root>'}: an object needs string apiVersion and kind to be written as protobuf`);
  }
  const typeName = messageForKind(apiVersion, kind);
  if (!typeName) throw new ProtobufEncodeError(`no protobuf message known for apiVersion ${JSON.stringify(apiVersion)}, kind ${JSON.stringify(kind)}`, 'UnsupportedKind');
  const raw = protobuf.Writer.create();
  writeMessage(raw, typeName, object, ctx, path, undefined, true);
  const envelope = protobuf.Writer.create();
  envelope.uint32(tag(1, WIRE_LENGTH)).fork()
    .uint32(tag(1, WIRE_LENGTH)).string(apiVersion)
    .uint32(tag(2, WIRE_LENGTH)).string(kind)
    .ldelim();
  envelope.uint32(tag(2, WIRE_LENGTH)).bytes(raw.finish());
  // Go writes the (empty) contentEncoding and contentType too.
  envelope.uint32(tag(3, WIRE_LENGTH)).string('');
  envelope.uint32(tag(4, WIRE_LENGTH)).string('');
  const body = envelope.finish();
  const out = new Uint8Array(KUBERNETES_PROTOBUF_MAGIC.length + body.length);
  out.set(KUBERNETES_PROTOBUF_MAGIC, 0);
  out.set(body, KUBERNETES_PROTOBUF_MAGIC.length);
  return out;
}

/**
 * Writes the fields of `typeName` found in `object`. `consumed` is shared with inlined
 * members (their fields live in the same JSON object); the outermost call checks for
 * leftovers when strict.
 */
function writeMessage(writer: Writer, typeName: string, object: JsonObject, ctx: Context, path: string, consumed: Set<string> | null | undefined, root = false): void {
  const info = messageInfo(typeName);
  if (!info) throw new ProtobufEncodeError(`${path || '<root>'}: no protobuf facts for message ${typeName}`, 'UnsupportedKind');
  if (++ctx.depth > ctx.maxDepth) throw new ProtobufEncodeError(`${path || '<root>'}: objects nested deeper than ${ctx.maxDepth}`, 'TooDeep');
  // Only strict mode needs to know which keys were used; null = an inlined member, not tracking.
  const seen = consumed === undefined ? (ctx.strict ? new Set<string>() : undefined) : (consumed ?? undefined);
  for (const field of info.fields) {
    if (field.inline) {
      // Go always writes embedded (non-pointer) structs, even when empty.
      writer.uint32(tag(field.number, WIRE_LENGTH)).fork();
      writeMessage(writer, field.type, object, ctx, path, seen ?? null);
      writer.ldelim();
      continue;
    }
    seen?.add(field.name);
    const value = object[field.name];
    if (value === undefined) continue;
    if (value === null) {
      // null Time is Go's zero time, which a non-pointer Time field writes as an empty message.
      if (field.type === TYPE_TIME && !field.repeated && !field.map) writer.uint32(tag(field.number, WIRE_LENGTH)).uint32(0);
      continue;
    }
    const fieldPath = path ? `${path}.${field.name}` : field.name;
    if (field.map) writeMap(writer, field, value, ctx, fieldPath);
    else if (field.repeated) {
      if (!Array.isArray(value)) throw new ProtobufEncodeError(`${fieldPath}: expected an array, got ${describe(value)}`);
      value.forEach((item, i) => writeValue(writer, field.number, field.type, item, ctx, `${fieldPath}[${i}]`));
    } else writeValue(writer, field.number, field.type, value, ctx, fieldPath);
  }
  if (consumed === undefined && ctx.strict) {
    const unknown = Object.keys(object).filter((key) => !seen!.has(key) && !(root && (key === 'apiVersion' || key === 'kind')));
    if (unknown.length) throw new ProtobufEncodeError(`${path || '<root>'}: unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} for ${typeName}`);
  }
  ctx.depth--;
}

function writeMap(writer: Writer, field: FieldInfo, value: unknown, ctx: Context, path: string): void {
  if (!isPlainObject(value)) throw new ProtobufEncodeError(`${path}: expected an object, got ${describe(value)}`);
  for (const key of Object.keys(value).sort()) {
    writer.uint32(tag(field.number, WIRE_LENGTH)).fork();
    writer.uint32(tag(1, WIRE_LENGTH)).string(key);
    const item = value[key];
    if (item !== null && item !== undefined) writeValue(writer, 2, field.type, item, ctx, `${path}[${JSON.stringify(key)}]`);
    writer.ldelim();
  }
}

/** One field occurrence: tag + value. null (inside lists) writes the zero value. */
function writeValue(writer: Writer, number: number, type: string, value: unknown, ctx: Context, path: string): void {
  if (SCALAR_TYPES.has(type)) {
    const isLength = type === 'string' || type === 'bytes';
    writer.uint32(tag(number, isLength ? WIRE_LENGTH : WIRE_VARINT));
    writeScalar(writer, type, value, path);
    return;
  }
  writer.uint32(tag(number, WIRE_LENGTH)).fork();
  if (value !== null) writeEmbedded(writer, type, value, ctx, path);
  writer.ldelim();
}

function writeScalar(writer: Writer, type: string, value: unknown, path: string): void {
  switch (type) {
    case 'string':
      if (value === null) { writer.string(''); return; }
      if (typeof value !== 'string') throw new ProtobufEncodeError(`${path}: expected a string, got ${describe(value)}`);
      writer.string(value);
      return;
    case 'bytes':
      if (value === null) { writer.bytes(new Uint8Array(0)); return; }
      if (typeof value !== 'string' || !BASE64.test(value)) throw new ProtobufEncodeError(`${path}: expected base64 text, got ${describe(value)}`);
      writer.bytes(Buffer.from(value, 'base64'));
      return;
    case 'bool':
      if (value === null) { writer.bool(false); return; }
      if (typeof value !== 'boolean') throw new ProtobufEncodeError(`${path}: expected a boolean, got ${describe(value)}`);
      writer.bool(value);
      return;
    case 'int32':
      if (value === null) { writer.int32(0); return; }
      if (!Number.isInteger(value) || (value as number) < INT32_MIN || (value as number) > INT32_MAX) {
        throw new ProtobufEncodeError(`${path}: expected a 32-bit integer, got ${describe(value)}`);
      }
      writer.int32(value as number);
      return;
    case 'int64':
      if (value === null) { writer.int64(0); return; }
      if (!Number.isInteger(value)) throw new ProtobufEncodeError(`${path}: expected an integer, got ${describe(value)}`);
      // Numbers beyond 2^53 go through text so protobufjs keeps every bit it was given.
      writer.int64(Number.isSafeInteger(value) ? (value as number) : BigInt(value as number).toString());
      return;
    default:
      throw new ProtobufEncodeError(`${path}: unsupported scalar type ${type}`);
  }
}

/** The body of an embedded message (the caller has written the tag and forked). */
function writeEmbedded(writer: Writer, type: string, value: unknown, ctx: Context, path: string): void {
  const fail = (expected: string, err?: unknown): never => {
    throw new ProtobufEncodeError(`${path}: expected ${expected}, got ${describe(value)}${err instanceof Error ? ` (${err.message})` : ''}`);
  };
  switch (type) {
    case TYPE_TIME: case TYPE_MICRO_TIME: {
      if (typeof value !== 'string') return fail('an RFC 3339 time string');
      let ts;
      try { ts = parseTimestamp(value); } catch (err) { return fail('an RFC 3339 time string', err); }
      writer.uint32(tag(1, WIRE_VARINT)).int64(ts.seconds.toString());
      writer.uint32(tag(2, WIRE_VARINT)).int32(ts.nanos);
      return;
    }
    case TYPE_DURATION: {
      if (typeof value !== 'string') return fail('a duration string such as "1m30s"');
      let nanos;
      try { nanos = parseDuration(value); } catch (err) { return fail('a duration string such as "1m30s"', err); }
      writer.uint32(tag(1, WIRE_VARINT)).int64(nanos.toString());
      return;
    }
    case TYPE_QUANTITY: case TYPE_QUANTITY_VALUE:
      // Quantities are strings in JSON but Go also accepts bare numbers.
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) return fail('a quantity');
      writer.uint32(tag(1, WIRE_LENGTH)).string(String(value));
      return;
    case TYPE_INT_OR_STRING:
      // Go writes all three fields: type, intVal, strVal.
      if (typeof value === 'string') {
        writer.uint32(tag(1, WIRE_VARINT)).int64(1).uint32(tag(2, WIRE_VARINT)).int32(0).uint32(tag(3, WIRE_LENGTH)).string(value);
      } else if (Number.isInteger(value) && (value as number) >= INT32_MIN && (value as number) <= INT32_MAX) {
        writer.uint32(tag(1, WIRE_VARINT)).int64(0).uint32(tag(2, WIRE_VARINT)).int32(value as number).uint32(tag(3, WIRE_LENGTH)).string('');
      } else fail('a 32-bit integer or a string');
      return;
    case TYPE_RAW_EXTENSION: case TYPE_FIELDS_V1:
      writer.uint32(tag(1, WIRE_LENGTH)).bytes(embeddedBytes(type, value, ctx, path));
      return;
  }
  if (isListWrapper(type)) {
    if (!Array.isArray(value)) return fail('an array');
    const item = messageInfo(type)!.fields[0];
    value.forEach((v, i) => writeValue(writer, item.number, item.type, v, ctx, `${path}[${i}]`));
    return;
  }
  if (!isPlainObject(value)) return fail('an object');
  writeMessage(writer, type, value, ctx, path, undefined);
}

function embeddedBytes(type: string, value: unknown, ctx: Context, path: string): Uint8Array {
  const asObject = type === TYPE_RAW_EXTENSION && ctx.embeddedObjects === 'protobuf' && isPlainObject(value)
    && typeof value.apiVersion === 'string' && typeof value.kind === 'string'
    && messageForKind(value.apiVersion, value.kind) !== undefined;
  if (asObject) {
    if (++ctx.depth > ctx.maxDepth) throw new ProtobufEncodeError(`${path}: objects nested deeper than ${ctx.maxDepth}`, 'TooDeep');
    const bytes = encodeEnvelope(value as JsonObject, ctx, path);
    ctx.depth--;
    return bytes;
  }
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
