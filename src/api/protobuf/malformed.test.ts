import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { decodeKubernetesProtobuf, encodeKubernetesProtobuf, ProtobufDecodeError } from './index.ts';

const MAGIC = [0x6b, 0x38, 0x73, 0x00];
const body = (...bytes: number[]) => Uint8Array.from([...MAGIC, ...bytes]);

/** magic + Unknown{typeMeta{apiVersion, kind}, raw}. */
function envelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(0x0a).fork().uint32(0x0a).string(apiVersion).uint32(0x12).string(kind).ldelim();
  w.uint32(0x12).bytes(raw);
  return Uint8Array.from([...MAGIC, ...w.finish()]);
}

function rejects(input: Uint8Array, pattern: RegExp, reason?: string): void {
  assert.throws(() => decodeKubernetesProtobuf(input), (err: unknown) => {
    assert.ok(err instanceof ProtobufDecodeError, `expected ProtobufDecodeError, got ${String(err)}`);
    assert.match(err.message, pattern);
    if (reason) assert.equal(err.reason, reason);
    return true;
  });
}

test('bad magic', () => {
  rejects(new Uint8Array(0), /magic/);
  rejects(Uint8Array.from([0x6b, 0x38, 0x73]), /magic/);
  rejects(Buffer.from('{"kind":"Pod"}'), /magic/);
  rejects(Uint8Array.from([0x6b, 0x38, 0x73, 0x01, 0x0a, 0x00]), /magic/);
});

test('truncated and invalid varints, lengths past the end', () => {
  rejects(body(0x0a, 0x80), /malformed|runs past/); // length varint cut short
  rejects(body(0x0a, 0x05, 0x0a, 0x01), /malformed|runs past/); // typeMeta claims 5 bytes, has 2
  rejects(body(0x12, 0xff, 0xff, 0xff, 0xff, 0x07), /malformed|runs past/); // raw claims 2 GiB
  rejects(body(0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /malformed/); // 11-byte varint
  rejects(body(0x00), /field number 0/);
  rejects(body(0x0b), /wire type 3/); // start group
});

test('missing type information and unknown kinds', () => {
  rejects(body(), /no apiVersion\/kind/);
  rejects(envelope('v1', 'NoSuchKind', new Uint8Array(0)), /no protobuf message known/, 'UnsupportedKind');
  rejects(envelope('apiextensions.k8s.io/v1', 'CustomResourceDefinition', new Uint8Array(0)), /no protobuf message known/, 'UnsupportedKind');
  rejects(envelope('apps/v1beta1', 'Deployment', new Uint8Array(0)), /no protobuf message known/, 'UnsupportedKind');
  const gz = protobuf.Writer.create();
  gz.uint32(0x0a).fork().uint32(0x0a).string('v1').uint32(0x12).string('Pod').ldelim().uint32(0x1a).string('gzip');
  rejects(Uint8Array.from([...MAGIC, ...gz.finish()]), /contentEncoding "gzip"/);
});

test('wrong wire types and garbage inside the object', () => {
  rejects(envelope('v1', 'Pod', Uint8Array.from([0x08, 0x01])), /metadata: wire type 0, expected 2/); // metadata as a varint
  rejects(envelope('v1', 'Pod', Uint8Array.from([0x0a, 0x03, 0x0a, 0x05, 0x61])), /malformed|runs past/);
  rejects(envelope('v1', 'Pod', Uint8Array.from([0x0a, 0x02, 0x42, 0x03])), /malformed|runs past/);
  // creationTimestamp with a year past 9999.
  const time = protobuf.Writer.create();
  time.uint32(0x0a).fork().uint32(0x42).fork().uint32(0x08).int64(300_000_000_000).ldelim().ldelim();
  rejects(envelope('v1', 'Pod', time.finish()), /creationTimestamp: .*outside the years/);
  // ControllerRevision.data that is neither JSON nor protobuf.
  const rev = protobuf.Writer.create();
  rev.uint32(0x12).fork().uint32(0x0a).bytes(Buffer.from('{nope')).ldelim();
  rejects(envelope('apps/v1', 'ControllerRevision', rev.finish()), /data: embedded bytes are neither JSON nor Kubernetes protobuf/);
});

test('deep nesting is refused, not a stack overflow', () => {
  // WatchEvent.object (RawExtension) holding a protobuf WatchEvent holding … 500 levels deep.
  let inner: Record<string, unknown> = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'leaf' } };
  for (let i = 0; i < 500; i++) inner = { apiVersion: 'meta.k8s.io/v1', kind: 'WatchEvent', type: 'ADDED', object: inner };
  const deep = encodeKubernetesProtobuf(inner, { embeddedObjects: 'protobuf', maxDepth: 10_000 });
  rejects(deep, /nested deeper than 100/, 'TooDeep');
  assert.equal(decodeKubernetesProtobuf(deep, { maxDepth: 10_000 }).kind, 'WatchEvent');
  // Unknown fields are skipped without recursion however deep they look.
  let blob: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < 2000; i++) {
    const w = protobuf.Writer.create();
    w.uint32((999 << 3) | 2).bytes(blob);
    blob = w.finish();
  }
  assert.deepEqual(decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', blob)).object, { apiVersion: 'v1', kind: 'ConfigMap' });
});

test('every truncation and single-byte corruption of real kubectl bodies fails cleanly or decodes', () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/kubectl-create.json', import.meta.url), 'utf8'));
  const started = Date.now();
  let decoded = 0;
  let refused = 0;
  const attempt = (input: Uint8Array) => {
    try {
      decodeKubernetesProtobuf(input);
      decoded++;
    } catch (err) {
      if (!(err instanceof ProtobufDecodeError)) throw err;
      refused++;
    }
  };
  for (const capture of fixture.captures) {
    const original = Buffer.from(capture.body, 'base64');
    for (let length = 0; length < original.length; length++) attempt(original.subarray(0, length));
    for (let i = 4; i < original.length; i++) {
      for (const value of [0x00, 0x07, 0x7f, 0x80, 0xff, original[i] ^ 0x01]) {
        const copy = Buffer.from(original);
        copy[i] = value;
        attempt(copy);
      }
    }
  }
  assert.ok(refused > 1000 && decoded > 100, `refused ${refused}, decoded ${decoded}`);
  assert.ok(Date.now() - started < 20_000, 'fuzzing took too long');
});
