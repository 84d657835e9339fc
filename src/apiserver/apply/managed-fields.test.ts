import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { kindSchema } from '../../api/schema/facts.ts';
import { serverSideApply } from './apply.ts';
import { defaultFieldManager, fieldManagerOptionsError, managedFieldsTime, requestFieldManager, updateManagedFields, zeroObject } from './managed-fields.ts';
import type { UpdateManagedFieldsOptions } from './managed-fields.ts';
import { ANCIENT_CHANGES_MANAGER, restoreManagedFieldsTimestamps } from './managers.ts';

type Obj = Record<string, any>;
const schema = kindSchema({ group: 'apps', version: 'v1', kind: 'Deployment' })!;
const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:01:00Z';
const T2 = '2025-01-01T00:02:00Z';
const testdata = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

function update(old: Obj | undefined, next: Obj, manager: string, extra: Partial<UpdateManagedFieldsOptions> = {}): Obj {
  updateManagedFields({ old, next, manager, schema, apiVersion: 'apps/v1', now: T1, operation: 'Update', ...extra });
  return next;
}

function created(): Obj {
  const object = JSON.parse(testdata('deployment-created.json'));
  update(undefined, object, 'kubectl-create', { now: T0, ignoredFields: [['status']] });
  object.metadata.uid = 'u-1';
  object.metadata.resourceVersion = '1';
  return object;
}

const entry = (object: Obj, manager: string) => (object.metadata.managedFields as Obj[]).find((e) => e.manager === manager);
const owned = (object: Obj, manager: string) => entry(object, manager)?.fieldsV1;

describe('updateManagedFields', () => {
  it('records a create as upstream does (hand-written kubectl-create fixture)', () => {
    const object = created();
    assert.deepEqual(object.metadata.managedFields.map((e: Obj) => Object.keys(e)), [['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']]);
    const e = entry(object, 'kubectl-create')!;
    assert.deepEqual([e.operation, e.apiVersion, e.time, e.fieldsType], ['Update', 'apps/v1', T0, 'FieldsV1']);
    assert.equal(JSON.stringify(e.fieldsV1), testdata('deployment-created.fieldsv1.json').trim());
  });

  it('gives changed fields to the writer and takes them from everyone else', () => {
    const old = created();
    const next = structuredClone(old);
    next.spec.replicas = 3;
    next.spec.template.spec.containers[0].image = 'nginx:1.27';
    update(old, next, 'kubectl-edit');
    assert.deepEqual(owned(next, 'kubectl-edit'), {
      'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { 'f:image': {} } } } } },
    });
    const creator = owned(next, 'kubectl-create');
    assert.equal(creator['f:spec']['f:replicas'], undefined);
    assert.equal(creator['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}']['f:image'], undefined);
    assert.ok(creator['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}']['f:name']);
    assert.equal(entry(next, 'kubectl-edit')!.time, T1);
    assert.equal(entry(next, 'kubectl-create')!.time, T0);
  });

  it('removes fields that leave the object from every entry', () => {
    const old = created();
    const next = structuredClone(old);
    delete next.metadata.labels;
    update(old, next, 'kubectl-edit');
    assert.equal(owned(next, 'kubectl-create')['f:metadata'], undefined);
    // Removing is not owning: the writer changed nothing else, so it has no entry.
    assert.equal(entry(next, 'kubectl-edit'), undefined);
  });

  it('merges a writer\'s updates into one entry and only stamps it when something changed', () => {
    const old = created();
    const first = update(old, Object.assign(structuredClone(old), { spec: { ...old.spec, replicas: 2 } }), 'kubectl-edit');
    const secondInput = structuredClone(first);
    secondInput.spec.paused = true;
    const second = update(first, secondInput, 'kubectl-edit', { now: T2 });
    assert.deepEqual(owned(second, 'kubectl-edit')['f:spec'], { 'f:paused': {}, 'f:replicas': {} });
    assert.equal(entry(second, 'kubectl-edit')!.time, T2);
    const unchanged = update(second, structuredClone(second), 'kubectl-edit', { now: '2025-01-01T00:09:00Z' });
    assert.deepEqual(unchanged.metadata.managedFields, second.metadata.managedFields);
  });

  it('keeps Update entries of different apiVersions apart', () => {
    const old = created();
    const next = update(old, Object.assign(structuredClone(old), { spec: { ...old.spec, replicas: 2 } }), 'kubectl-create', { apiVersion: 'apps/v1beta2' });
    assert.deepEqual(next.metadata.managedFields.map((e: Obj) => `${e.manager}@${e.apiVersion}`), ['kubectl-create@apps/v1', 'kubectl-create@apps/v1beta2']);
  });

  it('resets ownership when the request sends [] or [{}]', () => {
    for (const reset of [[], [{}]]) {
      const old = created();
      const next = structuredClone(old);
      next.metadata.managedFields = reset;
      update(old, next, 'kubectl-edit');
      assert.equal(next.metadata.managedFields, undefined);
    }
  });

  it('uses managedFields the request carries, and the stored ones when it carries none or garbage', () => {
    const old = created();
    const edited = structuredClone(old);
    edited.metadata.managedFields[0].manager = 'renamed';
    update(old, edited, 'kubectl-replace');
    assert.deepEqual(edited.metadata.managedFields.map((e: Obj) => e.manager), ['renamed']);

    for (const bad of [undefined, [{ manager: 'x', operation: 'Bogus', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }]]) {
      const next = structuredClone(old);
      if (bad) next.metadata.managedFields = bad;
      else delete next.metadata.managedFields;
      update(old, next, 'kubectl-replace');
      assert.deepEqual(next.metadata.managedFields, old.metadata.managedFields);
    }
  });

  it('records status writes with their subresource and ignores managedFields the request carries', () => {
    const old = created();
    const next = structuredClone(old);
    next.status = { replicas: 1, readyReplicas: 1 };
    next.metadata.managedFields = [];
    update(old, next, 'kube-controller-manager', { subresource: 'status', ignoredFields: [['spec'], ['metadata']] });
    const e = entry(next, 'kube-controller-manager')!;
    assert.deepEqual(Object.keys(e), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1', 'subresource']);
    assert.equal(e.subresource, 'status');
    assert.deepEqual(e.fieldsV1, { 'f:status': { 'f:readyReplicas': {}, 'f:replicas': {} } });
    assert.ok(entry(next, 'kubectl-create'));
  });

  it('orders entries as upstream: Apply first, then by time, then by manager', () => {
    const old = created();
    const applied = serverSideApply({
      live: old, manager: 'deployer', force: false, schema, apiVersion: 'apps/v1', now: T2,
      applied: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nginx' }, spec: { minReadySeconds: 5 } },
    }).object as Obj;
    const next = update(applied, Object.assign(structuredClone(applied), { spec: { ...applied.spec, paused: true } }), 'a-tool', { now: T1 });
    assert.deepEqual(next.metadata.managedFields.map((e: Obj) => e.manager), ['deployer', 'kubectl-create', 'a-tool']);
  });

  it('merges the oldest Update entries into "ancient-changes" beyond ten', () => {
    let object = created();
    for (let i = 1; i <= 10; i++) {
      const next = structuredClone(object);
      next.metadata.labels[`l${i}`] = 'x';
      object = update(object, next, `writer-${i}`, { now: `2025-01-01T01:${String(i).padStart(2, '0')}:00Z` });
    }
    const managers = object.metadata.managedFields.map((e: Obj) => e.manager);
    assert.equal(managers.length, 10);
    assert.equal(managers[0], ANCIENT_CHANGES_MANAGER);
    const bucket = entry(object, ANCIENT_CHANGES_MANAGER)!;
    assert.equal(bucket.time, '2025-01-01T01:01:00Z');
    assert.ok(bucket.fieldsV1['f:metadata']['f:labels']['f:l1']);
    assert.ok(bucket.fieldsV1['f:spec']);
  });
});

describe('zeroObject', () => {
  it('is the empty Go object upstream compares a create against', () => {
    assert.deepEqual(zeroObject(schema), {
      metadata: { creationTimestamp: null },
      spec: { selector: null, strategy: {}, template: { metadata: { creationTimestamp: null }, spec: { containers: null } } },
      status: {},
    });
  });
});

describe('restoreManagedFieldsTimestamps', () => {
  it('puts the old timestamps back when only they changed', () => {
    const old = created();
    const next = structuredClone(old);
    next.metadata.managedFields[0].time = T2;
    assert.equal(restoreManagedFieldsTimestamps({ old, next }), true);
    assert.equal(next.metadata.managedFields[0].time, T0);
  });

  it('keeps new timestamps when anything else changed', () => {
    const old = created();
    const next = structuredClone(old);
    next.metadata.managedFields[0].time = T2;
    next.spec.replicas = 4;
    assert.equal(restoreManagedFieldsTimestamps({ old, next }), false);
    assert.equal(next.metadata.managedFields[0].time, T2);
  });
});

describe('field manager names and options', () => {
  it('derives the default manager from the User-Agent', () => {
    assert.equal(defaultFieldManager('kubectl/v1.32.4 (linux/amd64) kubernetes/abc1234'), 'kubectl');
    assert.equal(defaultFieldManager('kube-controller-manager/v1.36.0 (linux/amd64) kubernetes/x/system:serviceaccount:kube-system:deployment-controller'), 'kube-controller-manager');
    assert.equal(defaultFieldManager('Go-http-client/1.1'), 'Go-http-client');
    assert.equal(defaultFieldManager('my\u0007tool/1.0'), 'mytool');
    assert.equal(defaultFieldManager('x'.repeat(200)), 'x'.repeat(128));
    assert.equal(defaultFieldManager(''), '');
    assert.equal(requestFieldManager({ fieldManager: 'kubectl-edit', userAgent: 'kubectl/v1.32.4' }), 'kubectl-edit');
    assert.equal(requestFieldManager({ fieldManager: null, userAgent: 'kubectl/v1.32.4' }), 'kubectl');
  });

  it('writes times in whole seconds', () => {
    assert.equal(managedFieldsTime(new Date('2025-03-04T05:06:07.891Z')), '2025-03-04T05:06:07Z');
  });

  it('requires a fieldManager for apply, as upstream (422 on PatchOptions)', () => {
    const error = fieldManagerOptionsError({ kind: 'PatchOptions', fieldManager: null, apply: true })!;
    assert.equal(error.code, 422);
    assert.equal(error.message, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    assert.deepEqual(error.details, {
      name: '', group: 'meta.k8s.io', kind: 'PatchOptions',
      causes: [{ reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' }],
    });
  });

  it('forbids force outside apply and limits the name', () => {
    assert.equal(
      fieldManagerOptionsError({ kind: 'PatchOptions', fieldManager: 'x', force: 'true' })!.message,
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    );
    assert.match(fieldManagerOptionsError({ kind: 'UpdateOptions', fieldManager: 'x'.repeat(129) })!.message, /fieldManager: Too long: may not be more than 128 bytes/);
    assert.equal(fieldManagerOptionsError({ kind: 'PatchOptions', fieldManager: 'kubectl', apply: true, force: 'true' }), undefined);
    assert.equal(fieldManagerOptionsError({ kind: 'CreateOptions', fieldManager: undefined }), undefined);
  });
});
