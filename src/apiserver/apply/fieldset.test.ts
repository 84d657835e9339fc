import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { kindSchema } from '../../api/schema/facts.ts';
import { schemaTypes } from './apply.ts';
import { FieldSet, fieldSetFromObject } from './fieldset.ts';
import { STRIPPED_FIELDS } from './managers.ts';
import { fieldElement, fieldPath, keyElement, parsePathElement, pathString, valueElement } from './path-element.ts';

const types = schemaTypes();
const deployment = kindSchema({ group: 'apps', version: 'v1', kind: 'Deployment' })!;
const pod = kindSchema({ group: '', version: 'v1', kind: 'Pod' })!;
const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

describe('path elements', () => {
  it('serialize keys with sorted field names and Go-style JSON', () => {
    assert.equal(keyElement([['protocol', 'TCP'], ['containerPort', 80]]).text, 'k:{"containerPort":80,"protocol":"TCP"}');
    assert.equal(keyElement([['name', 'a&b<c>']]).text, 'k:{"name":"a\\u0026b\\u003cc\\u003e"}');
    assert.equal(valueElement('example.com/x').text, 'v:"example.com/x"');
    assert.equal(fieldElement('kubectl.kubernetes.io/last-applied-configuration').text, 'f:kubectl.kubernetes.io/last-applied-configuration');
  });

  it('parse keys into their canonical form and drop unknown element types', () => {
    assert.equal(parsePathElement('k:{"protocol":"TCP","containerPort":80}')!.text, 'k:{"containerPort":80,"protocol":"TCP"}');
    assert.equal(parsePathElement('i:3')!.text, 'i:3');
    assert.equal(parsePathElement('z:whatever'), undefined);
    assert.throws(() => parsePathElement('f'), /2 characters/);
    assert.throws(() => parsePathElement('fx'), /missing colon/);
  });

  it('print paths as upstream does in conflict messages', () => {
    const path = [...fieldPath('spec', 'template', 'spec', 'containers'), keyElement([['name', 'nginx']]), fieldElement('image')];
    assert.equal(pathString(path), '.spec.template.spec.containers[name="nginx"].image');
    const port = keyElement([['containerPort', 80], ['protocol', 'TCP']]);
    assert.equal(pathString([fieldElement('ports'), port]), '.ports[containerPort=80,protocol="TCP"]');
    assert.equal(pathString([fieldElement('finalizers'), valueElement('x')]), '.finalizers[="x"]');
  });
});

describe('FieldSet operations', () => {
  const set = (...paths: string[][]) => FieldSet.fromPaths(paths.map((p) => fieldPath(...p)));

  it('union, intersection and path-wise difference', () => {
    const a = set(['spec', 'replicas'], ['spec', 'paused']);
    const b = set(['spec', 'replicas'], ['metadata', 'labels', 'x']);
    assert.deepEqual(a.union(b).toFieldsV1(), { 'f:metadata': { 'f:labels': { 'f:x': {} } }, 'f:spec': { 'f:paused': {}, 'f:replicas': {} } });
    assert.deepEqual(a.intersection(b).toFieldsV1(), { 'f:spec': { 'f:replicas': {} } });
    assert.deepEqual(a.difference(b).toFieldsV1(), { 'f:spec': { 'f:paused': {} } });
    // A parent minus one of its children is still the parent; a child minus its parent stays too.
    assert.ok(set(['spec']).difference(set(['spec', 'replicas'])).has(fieldPath('spec')));
    assert.ok(set(['spec', 'replicas']).difference(set(['spec'])).has(fieldPath('spec', 'replicas')));
    // recursiveDifference removes whole subtrees.
    assert.ok(set(['spec', 'replicas']).recursiveDifference(set(['spec'])).isEmpty());
  });

  it('never keeps empty children', () => {
    const diff = set(['spec', 'replicas']).difference(set(['spec', 'replicas']));
    assert.ok(diff.isEmpty());
    assert.deepEqual(diff.toFieldsV1(), {});
  });

  it('iterates paths members first, then children, in upstream order', () => {
    const s = set(['spec', 'replicas'], ['kind'], ['spec'], ['metadata', 'name']);
    assert.deepEqual(s.paths().map(pathString), ['.kind', '.spec', '.metadata.name', '.spec.replicas']);
  });
});

describe('FieldsV1', () => {
  it('writes "." first in a node that is owned itself and has children', () => {
    const s = FieldSet.fromPaths([fieldPath('metadata', 'labels'), fieldPath('metadata', 'labels', 'app')]);
    assert.equal(JSON.stringify(s.toFieldsV1()), '{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}');
  });

  it('reads {} and {".":{}} as members, and nested objects as children only', () => {
    const s = FieldSet.fromFieldsV1({ 'f:a': {}, 'f:b': { '.': {} }, 'f:c': { 'f:d': {} }, 'f:e': { '.': {}, 'f:g': {} } });
    assert.ok(s.has(fieldPath('a')));
    assert.ok(s.has(fieldPath('b')));
    assert.ok(!s.has(fieldPath('c')));
    assert.ok(s.has(fieldPath('c', 'd')));
    assert.ok(s.has(fieldPath('e')) && s.has(fieldPath('e', 'g')));
  });

  it('rejects what is not an object', () => {
    assert.throws(() => FieldSet.fromFieldsV1([]), /JSON object/);
    assert.throws(() => FieldSet.fromFieldsV1({ 'f:a': 1 }), /JSON object/);
  });

  it('round-trips the hand-written Deployment fixture byte for byte', () => {
    const text = fixture('deployment-applied.fieldsv1.json').trim();
    const set = FieldSet.fromFieldsV1(JSON.parse(text));
    assert.equal(JSON.stringify(set.toFieldsV1()), text);
  });

  it('re-orders entries it reads out of order', () => {
    const s = FieldSet.fromFieldsV1({ 'k:{"name":"b"}': {}, 'f:z': {}, 'k:{"name":"a"}': {}, 'v:1': {}, 'f:a': {} });
    assert.deepEqual(Object.keys(s.toFieldsV1()), ['f:a', 'f:z', 'k:{"name":"a"}', 'k:{"name":"b"}', 'v:1']);
  });
});

describe('fieldSetFromObject', () => {
  it('gives the fixture for an applied Deployment (after the server-owned fields are stripped)', () => {
    const applied = JSON.parse(fixture('deployment-applied.json'));
    const set = fieldSetFromObject(applied, deployment, types).difference(STRIPPED_FIELDS);
    assert.equal(JSON.stringify(set.toFieldsV1()), fixture('deployment-applied.fieldsv1.json').trim());
  });

  it('owns apiVersion, kind and metadata.name before stripping', () => {
    const set = fieldSetFromObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }, pod, types);
    assert.deepEqual(set.toFieldsV1(), { 'f:apiVersion': {}, 'f:kind': {}, 'f:metadata': { 'f:name': {} } });
  });

  it('owns empty structs and nulls as members, but not empty associative lists', () => {
    const set = fieldSetFromObject({ spec: { securityContext: {}, nodeSelector: null, containers: [] } }, pod, types);
    assert.deepEqual(set.toFieldsV1(), { 'f:spec': { 'f:nodeSelector': {}, 'f:securityContext': {} } });
  });

  it('owns an item whose key repeats as a whole', () => {
    const set = fieldSetFromObject({ spec: { containers: [{ name: 'a', image: 'x' }, { name: 'a', image: 'y' }] } }, pod, types);
    assert.deepEqual(set.toFieldsV1(), { 'f:spec': { 'f:containers': { 'k:{"name":"a"}': {} } } });
  });

  it('treats fields without schema as deduced: maps granular, lists atomic', () => {
    const cr = { spec: { nested: { list: [1, 2], key: 'v' } } };
    assert.deepEqual(fieldSetFromObject(cr, undefined, types).toFieldsV1(), {
      'f:spec': { '.': {}, 'f:nested': { '.': {}, 'f:key': {}, 'f:list': {} } },
    });
  });

  it('reports an item with no key field', () => {
    assert.throws(() => fieldSetFromObject({ spec: { containers: [{ image: 'x' }] } }, pod, types), /omits all key fields \["name"\]/);
  });
});
