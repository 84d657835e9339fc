import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeFieldValue, parseFieldSelector, unescapeFieldValue } from './field-selector.ts';
import { fieldSelectorMatcher, objectFields, supportedFieldLabels } from './field-labels.ts';
import { SelectorError } from './errors.ts';

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SelectorError);
    return err.message;
  }
  assert.fail('expected an error');
};

test('parses =, == and != terms, sorted, == printed as =', () => {
  const sel = parseFieldSelector('status.phase!=Running,metadata.name==web,spec.nodeName=n1');
  assert.deepEqual(sel.requirements, [
    { field: 'metadata.name', operator: '=', value: 'web' },
    { field: 'spec.nodeName', operator: '=', value: 'n1' },
    { field: 'status.phase', operator: '!=', value: 'Running' },
  ]);
  assert.equal(sel.toString(), 'metadata.name=web,spec.nodeName=n1,status.phase!=Running');
  assert.equal(sel.requiresExactMatch('metadata.name'), 'web');
  assert.equal(parseFieldSelector('').isEmpty(), true);
  assert.equal(parseFieldSelector('a=b,,').requirements.length, 1);
  assert.equal(parseFieldSelector('a=').requirements[0]!.value, '');
});

test('escaping of \\ , and = in values round-trips', () => {
  const sel = parseFieldSelector('a=x\\,y\\=z\\\\w');
  assert.equal(sel.requirements[0]!.value, 'x,y=z\\w');
  assert.equal(sel.toString(), 'a=x\\,y\\=z\\\\w');
  assert.equal(unescapeFieldValue(escapeFieldValue('a,b=c\\')), 'a,b=c\\');
});

test('parse errors carry upstream wording', () => {
  assert.equal(errorOf(() => parseFieldSelector('x')), "invalid selector: 'x'; can't understand 'x'");
  assert.equal(errorOf(() => parseFieldSelector('a=b,c')), "invalid selector: 'a=b,c'; can't understand 'c'");
  assert.equal(errorOf(() => parseFieldSelector('a=b\\q')), 'invalid field selector: invalid escape sequence: \\q');
  assert.equal(errorOf(() => parseFieldSelector('a=b\\')), 'invalid field selector: invalid escape sequence: \\');
  assert.equal(errorOf(() => parseFieldSelector('a=b=c')), 'invalid field selector: unescaped character in value: 61');
});

const pod = {
  metadata: { name: 'web-1', namespace: 'prod' },
  spec: { nodeName: 'node-a', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default' },
  status: { phase: 'Running', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }], nominatedNodeName: '' },
};

test('pod fields', () => {
  const match = (text: string) => fieldSelectorMatcher(parseFieldSelector(text), { kind: 'Pod' })(pod);
  assert.equal(match('spec.nodeName=node-a'), true);
  assert.equal(match('spec.nodeName=node-b'), false);
  assert.equal(match('status.phase!=Running'), false);
  assert.equal(match('status.phase!=Pending,metadata.namespace=prod,metadata.name=web-1'), true);
  assert.equal(match('spec.hostNetwork=false'), true);
  assert.equal(match('status.podIP=10.0.0.5'), true);
  assert.equal(match('status.nominatedNodeName='), true);
  assert.equal(match(''), true);
  assert.deepEqual(objectFields(pod, { kind: 'Pod', group: 'core' })['spec.restartPolicy'], 'Always');
});

test('unsupported fields: upstream messages for kinds with and without their own table', () => {
  assert.equal(
    errorOf(() => fieldSelectorMatcher(parseFieldSelector('spec.foo=x'), { kind: 'Pod' })),
    'field label not supported: spec.foo',
  );
  assert.equal(
    errorOf(() => fieldSelectorMatcher(parseFieldSelector('spec.replicas=1'), { kind: 'Deployment', group: 'apps' })),
    '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
  );
  // status.replicas belongs to replica sets, not deployments
  assert.doesNotThrow(() => fieldSelectorMatcher(parseFieldSelector('status.replicas=1'), { kind: 'ReplicaSet', group: 'apps' }));
  // every kind has the metadata fields
  assert.doesNotThrow(() => fieldSelectorMatcher(parseFieldSelector('metadata.name=x'), { kind: 'Widget', group: 'example.com' }));
});

test('event, secret, node, namespace, job, service, csr fields', () => {
  const check = (kind: string, group: string, obj: object, selector: string) =>
    fieldSelectorMatcher(parseFieldSelector(selector), { kind, group })(obj);
  const event = {
    metadata: { name: 'e', namespace: 'prod' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'prod', uid: 'u1', apiVersion: 'v1', fieldPath: 'spec.containers{c}' },
    reason: 'Started', type: 'Normal', reportingComponent: 'kubelet', source: {},
  };
  assert.equal(check('Event', '', event, 'involvedObject.name=web-1,involvedObject.namespace=prod,involvedObject.uid=u1'), true);
  assert.equal(check('Event', '', event, 'source=kubelet,type=Normal,reason=Started'), true);
  assert.equal(check('Event', '', { ...event, source: { component: 'scheduler' } }, 'source=scheduler'), true);
  assert.equal(check('Secret', '', { type: 'Opaque' }, 'type=Opaque'), true);
  assert.equal(check('Node', '', { spec: { unschedulable: true } }, 'spec.unschedulable=true'), true);
  assert.equal(check('Node', '', { spec: {} }, 'spec.unschedulable=false'), true);
  assert.equal(check('Namespace', '', { status: { phase: 'Active' } }, 'status.phase=Active'), true);
  assert.equal(check('ReplicationController', '', { status: { replicas: 2 } }, 'status.replicas=2'), true);
  assert.equal(check('Job', 'batch', { status: { succeeded: 1 } }, 'status.successful=1'), true);
  assert.equal(check('Job', 'batch', { status: {} }, 'status.successful=0'), true);
  assert.equal(check('Service', '', { spec: { type: 'NodePort', clusterIP: '10.96.0.9' } }, 'spec.type=NodePort,spec.clusterIP=10.96.0.9'), true);
  assert.equal(
    check('CertificateSigningRequest', 'certificates.k8s.io', { spec: { signerName: 'kubernetes.io/kubelet-serving' } }, 'spec.signerName=kubernetes.io/kubelet-serving'),
    true,
  );
  assert.deepEqual(supportedFieldLabels({ kind: 'Secret' }), ['metadata.name', 'metadata.namespace', 'type']);
});

test('custom supported fields (e.g. a CRD\'s selectableFields)', () => {
  const options = { kind: 'Widget', group: 'example.com', supportedFields: { 'spec.color': (o: any) => String(o?.spec?.color ?? '') } };
  const matcher = fieldSelectorMatcher(parseFieldSelector('spec.color=red'), options);
  assert.equal(matcher({ spec: { color: 'red' } }), true);
  assert.equal(matcher({ spec: { color: 'blue' } }), false);
  assert.equal(errorOf(() => fieldSelectorMatcher(parseFieldSelector('spec.size=1'), options)), 'field label not supported: spec.size');
});
