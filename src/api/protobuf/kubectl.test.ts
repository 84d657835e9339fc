// Decodes request bodies captured from the real kubectl (fixtures/kubectl-create.json)
// and checks them against kubectl's own JSON rendering of the same objects
// (`-o json --dry-run=client`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeKubernetesProtobuf, encodeKubernetesProtobuf, KUBERNETES_PROTOBUF_CONTENT_TYPE } from './index.ts';

interface Capture {
  name: string;
  command: string;
  url: string;
  contentType: string;
  body: string;
  json: Record<string, unknown> | null;
}

const fixture: { captures: Capture[] } = JSON.parse(readFileSync(new URL('./fixtures/kubectl-create.json', import.meta.url), 'utf8'));
const byName = new Map(fixture.captures.map((c) => [c.name, c]));
const decode = (name: string) => decodeKubernetesProtobuf(Buffer.from(byName.get(name)!.body, 'base64'));

/**
 * `actual` must hold everything in `expected`, equal; anything more may only be an
 * integer 0 or false: Go writes non-pointer fields to protobuf even when zero, and its
 * JSON encoder omits them (omitempty), which the wire cannot tell from a pointer zero.
 */
function assertMatchesKubectlJson(actual: unknown, expected: unknown, path: string): void {
  if (expected === null || typeof expected !== 'object') {
    assert.deepEqual(actual, expected, path);
    return;
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((item, i) => assertMatchesKubectlJson(actual[i], item, `${path}[${i}]`));
    return;
  }
  assert.ok(actual && typeof actual === 'object' && !Array.isArray(actual), `${path}: expected an object`);
  const got = actual as Record<string, unknown>;
  const want = expected as Record<string, unknown>;
  for (const key of Object.keys(want)) assertMatchesKubectlJson(got[key], want[key], `${path}.${key}`);
  for (const key of Object.keys(got)) {
    if (!(key in want)) assert.ok(got[key] === 0 || got[key] === false, `${path}.${key}: unexpected ${JSON.stringify(got[key])}`);
  }
}

test('every captured kubectl create body decodes to what kubectl renders as JSON', () => {
  const withJson = fixture.captures.filter((c) => c.json);
  assert.ok(withJson.length >= 16);
  for (const capture of withJson) {
    assert.equal(capture.contentType, KUBERNETES_PROTOBUF_CONTENT_TYPE, capture.command);
    const decoded = decodeKubernetesProtobuf(Buffer.from(capture.body, 'base64'));
    assert.equal(decoded.apiVersion, capture.json!.apiVersion, capture.command);
    assert.equal(decoded.kind, capture.json!.kind, capture.command);
    assertMatchesKubectlJson(decoded.object, capture.json, capture.name);
    // Our encoder writes kubectl's JSON back into an equivalent body.
    const again = decodeKubernetesProtobuf(encodeKubernetesProtobuf(capture.json!, { strict: true }));
    assertMatchesKubectlJson(again.object, capture.json, `${capture.name} (re-encoded)`);
  }
});

test('create deployment: the fields kubectl sends', () => {
  const { object } = decode('deployment');
  assert.deepEqual(object.metadata, { name: 'x', generation: 0, creationTimestamp: null, labels: { app: 'x' } });
  const spec = object.spec as any;
  assert.equal(spec.replicas, 1);
  assert.deepEqual(spec.selector, { matchLabels: { app: 'x' } });
  assert.deepEqual(spec.strategy, {});
  assert.deepEqual(spec.template.spec.containers, [{ name: 'nginx', image: 'nginx', resources: {}, stdin: false, stdinOnce: false, tty: false }]);
  // Empty strings Go wrote for non-pointer fields are gone (they would defeat defaulting).
  assert.equal('imagePullPolicy' in spec.template.spec.containers[0], false);
  assert.equal('namespace' in (object.metadata as object), false);
  // --replicas=0 is a pointer set to zero: it must survive.
  assert.equal((decode('deployment-replicas-0').object.spec as any).replicas, 0);
});

test('create secret generic: binary file content arrives intact', () => {
  const { object } = decode('secret-generic');
  assert.deepEqual(object.data, { bin: Buffer.from([0x00, 0x01, 0xff, 0xfe]).toString('base64'), k: Buffer.from('v').toString('base64') });
});

test('create service clusterip: int and named targetPort', () => {
  const ports = (decode('service-clusterip').object.spec as any).ports;
  assert.equal(ports[0].targetPort, 8080);
  assert.equal(ports[1].targetPort, 'https');
});

test('create token, auth can-i (no dry-run JSON): decoded by hand', () => {
  const token = decode('token');
  assert.equal(token.apiVersion, 'authentication.k8s.io/v1');
  assert.equal(token.kind, 'TokenRequest');
  assert.equal((token.object.spec as any).expirationSeconds, 600);
  assert.match(byName.get('token')!.url, /^\/api\/v1\/namespaces\/default\/serviceaccounts\/default\/token/);

  const review = decode('auth-can-i');
  assert.equal(review.kind, 'SelfSubjectAccessReview');
  assert.deepEqual((review.object.spec as any).resourceAttributes, { namespace: 'default', verb: 'get', resource: 'pods' });

  const rules = decode('auth-can-i-list');
  assert.equal(rules.kind, 'SelfSubjectRulesReview');
  assert.deepEqual(rules.object.spec, { namespace: 'default' });
});
