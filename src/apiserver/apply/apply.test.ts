import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { kindSchema } from '../../api/schema/facts.ts';
import { ApiError } from '../errors.ts';
import { serverSideApply } from './apply.ts';
import type { ServerSideApplyOptions } from './apply.ts';
import { LAST_APPLIED_ANNOTATION } from './last-applied.ts';
import { updateManagedFields } from './managed-fields.ts';

type Obj = Record<string, any>;
const deploymentSchema = kindSchema({ group: 'apps', version: 'v1', kind: 'Deployment' })!;
const configMapSchema = kindSchema({ group: '', version: 'v1', kind: 'ConfigMap' })!;
const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:01:00Z';
const T2 = '2025-01-01T00:02:00Z';

function deployment(spec: Obj = {}, metadata: Obj = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', ...metadata },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] },
      },
      ...spec,
    },
  };
}

function apply(live: Obj | undefined, applied: Obj, manager: string, extra: Partial<ServerSideApplyOptions> = {}): Obj {
  const options: ServerSideApplyOptions = { live, applied, manager, force: false, schema: deploymentSchema, apiVersion: 'apps/v1', now: T1, ...extra };
  return serverSideApply(options).object as Obj;
}

/** What the server adds when it stores an object. */
function stored(object: Obj): Obj {
  const copy = structuredClone(object);
  copy.metadata.uid = '0d9a4c1e-1111-2222-3333-444455556666';
  copy.metadata.resourceVersion = '42';
  copy.metadata.creationTimestamp = T0;
  return copy;
}

const entries = (object: Obj) => object.metadata.managedFields as Obj[];
const entry = (object: Obj, manager: string) => entries(object).find((e) => e.manager === manager);
const owned = (object: Obj, manager: string) => entry(object, manager)?.fieldsV1;

function conflictOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail('expected a conflict');
}

/** A Deployment as `kubectl apply` (client-side) creates it: POST with the annotation, fields owned by an Update entry. */
function clientSideApplied(spec: Obj, lastApplied: Obj): Obj {
  const object = deployment(spec, { annotations: { [LAST_APPLIED_ANNOTATION]: `${JSON.stringify(lastApplied)}\n` } });
  updateManagedFields({ old: undefined, next: object, manager: 'kubectl-client-side-apply', schema: deploymentSchema, apiVersion: 'apps/v1', now: T0 });
  return stored(object);
}

describe('serverSideApply: creation and ownership', () => {
  it('creates the object from the applied configuration with one Apply entry', () => {
    const applied = JSON.parse(readFileSync(new URL('./testdata/deployment-applied.json', import.meta.url), 'utf8'));
    const created = apply(undefined, applied, 'kubectl');
    const { managedFields, ...metadata } = created.metadata;
    assert.deepEqual({ ...created, metadata }, applied);
    assert.equal(managedFields.length, 1);
    assert.deepEqual(Object.keys(managedFields[0]), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']);
    assert.equal(managedFields[0].manager, 'kubectl');
    assert.equal(managedFields[0].operation, 'Apply');
    assert.equal(managedFields[0].apiVersion, 'apps/v1');
    assert.equal(managedFields[0].time, T1);
    assert.equal(managedFields[0].fieldsType, 'FieldsV1');
    const expected = readFileSync(new URL('./testdata/deployment-applied.fieldsv1.json', import.meta.url), 'utf8').trim();
    assert.equal(JSON.stringify(managedFields[0].fieldsV1), expected);
  });

  it('removes a field the applier stops applying', () => {
    const first = stored(apply(undefined, deployment({ replicas: 3 }, { labels: { app: 'web', tier: 'frontend' } }), 'kubectl'));
    const second = apply(first, deployment({}, { labels: { app: 'web' } }), 'kubectl', { now: T2 });
    assert.equal(second.spec.replicas, undefined);
    assert.deepEqual(second.metadata.labels, { app: 'web' });
    assert.equal(owned(second, 'kubectl')['f:spec']['f:replicas'], undefined);
    assert.equal(entry(second, 'kubectl')!.time, T2);
    // Server-owned metadata survives.
    assert.equal(second.metadata.uid, first.metadata.uid);
  });

  it('removes a list item the applier stops applying, keeping the others in order', () => {
    const containers = [{ name: 'a', image: 'a' }, { name: 'b', image: 'b' }, { name: 'c', image: 'c' }];
    const first = stored(apply(undefined, deployment({ template: { spec: { containers } } }), 'kubectl'));
    const second = apply(first, deployment({ template: { spec: { containers: [containers[0], containers[2]] } } }), 'kubectl');
    assert.deepEqual(second.spec.template.spec.containers.map((c: Obj) => c.name), ['a', 'c']);
  });

  it('lets two appliers share a field; the field stays while one of them still applies it', () => {
    const a = stored(apply(undefined, deployment({ replicas: 3 }), 'team-a'));
    const shared = stored(apply(a, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 3 } }, 'team-b'));
    assert.deepEqual(owned(shared, 'team-b'), { 'f:spec': { 'f:replicas': {} } });
    assert.ok(owned(shared, 'team-a')['f:spec']['f:replicas']);
    // Setting the value it already has changes nothing, so team-b's entry has no time yet.
    assert.equal(entry(shared, 'team-b')!.time, undefined);

    const released = apply(shared, deployment(), 'team-a');
    assert.equal(released.spec.replicas, 3);
    assert.equal(owned(released, 'team-a')['f:spec']['f:replicas'], undefined);
    assert.deepEqual(owned(released, 'team-b'), { 'f:spec': { 'f:replicas': {} } });
  });

  it('keeps fields other managers set and the applier never applied', () => {
    const applied = stored(apply(undefined, deployment(), 'kubectl'));
    const scaled = structuredClone(applied);
    scaled.spec.replicas = 7;
    updateManagedFields({ old: applied, next: scaled, manager: 'kube-controller-manager', schema: deploymentSchema, apiVersion: 'apps/v1', now: T1 });
    const again = apply(scaled, deployment(), 'kubectl', { now: T2 });
    assert.equal(again.spec.replicas, 7);
    assert.deepEqual(owned(again, 'kube-controller-manager'), { 'f:spec': { 'f:replicas': {} } });
  });

  it('is a no-op that keeps the entry time when nothing changes', () => {
    const first = stored(apply(undefined, deployment({ replicas: 2 }), 'kubectl'));
    const again = apply(first, deployment({ replicas: 2 }), 'kubectl', { now: T2 });
    assert.deepEqual(again, first);
  });
});

describe('serverSideApply: conflicts', () => {
  const live = clientSideApplied({ replicas: 2 }, deployment({ replicas: 2 }));

  it('refuses to change a field another manager owns, with upstream message and causes', () => {
    const error = conflictOf(() => apply(live, deployment({ replicas: 5 }), 'deploy-tool'));
    assert.equal(error.code, 409);
    assert.equal(error.reason, 'Conflict');
    assert.equal(error.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
    assert.deepEqual(error.details, {
      causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: '.spec.replicas' }],
    });
    assert.deepEqual(error.toStatus(), {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: error.message, reason: 'Conflict', details: error.details, code: 409,
    });
  });

  it('moves ownership to the applier with force', () => {
    const forced = apply(live, deployment({ replicas: 5 }), 'deploy-tool', { force: true });
    assert.equal(forced.spec.replicas, 5);
    assert.ok(owned(forced, 'deploy-tool')['f:spec']['f:replicas']);
    assert.equal(owned(forced, 'kubectl-client-side-apply')['f:spec']['f:replicas'], undefined);
    // Fields applied with the value they have are shared, not taken.
    assert.ok(owned(forced, 'kubectl-client-side-apply')['f:spec']['f:template']);
  });

  it('groups several conflicts by manager', () => {
    const error = conflictOf(() => apply(live, deployment({ replicas: 5, paused: true, template: {
      metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
    } }), 'deploy-tool'));
    assert.equal(error.message, [
      'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:',
      '- .spec.replicas',
      '- .spec.template.spec.containers[name="nginx"].image',
    ].join('\n'));
    assert.deepEqual(error.details!.causes!.map((c) => c.field), ['.spec.replicas', '.spec.template.spec.containers[name="nginx"].image']);
  });

  it('lets kubectl take over fields whose last-applied value matches the live object', () => {
    const migrated = apply(live, deployment({ replicas: 5 }), 'kubectl');
    assert.equal(migrated.spec.replicas, 5);
    assert.equal(owned(migrated, 'kubectl-client-side-apply')['f:spec']['f:replicas'], undefined);
    // The annotation now holds the applied configuration, so a later client-side apply diffs against it.
    const annotation = migrated.metadata.annotations[LAST_APPLIED_ANNOTATION];
    assert.ok(annotation.endsWith('}\n'));
    assert.deepEqual(JSON.parse(annotation), deployment({ replicas: 5 }));
  });

  it('still reports kubectl conflicts the last-applied configuration does not explain', () => {
    const drifted = structuredClone(live);
    drifted.spec.replicas = 4; // changed by the same client-side manager without updating the annotation
    const error = conflictOf(() => apply(drifted, deployment({ replicas: 5 }), 'kubectl'));
    assert.equal(error.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
  });

  it('names another applier without an apiVersion', () => {
    const owner = stored(apply(undefined, deployment({ replicas: 1 }), 'team-a'));
    const error = conflictOf(() => apply(owner, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 } }, 'team-b'));
    assert.equal(error.message, 'Apply failed with 1 conflict: conflict with "team-a": .spec.replicas');
  });
});

describe('serverSideApply: merge rules', () => {
  it('merges containers by name, keeping fields and items others own', () => {
    const base = stored(apply(undefined, deployment({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [
      { name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] },
      { name: 'log', image: 'busybox' },
    ] } } }), 'platform'));
    const applied = deployment({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [
      { name: 'nginx', env: [{ name: 'MODE', value: 'prod' }] },
      { name: 'metrics', image: 'exporter' },
    ] } } });
    const merged = apply(base, applied, 'app-team');
    assert.deepEqual(merged.spec.template.spec.containers, [
      { name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }], env: [{ name: 'MODE', value: 'prod' }] },
      { name: 'log', image: 'busybox' },
      { name: 'metrics', image: 'exporter' },
    ]);
    assert.deepEqual(Object.keys(owned(merged, 'app-team')['f:spec']['f:template']['f:spec']['f:containers']), [
      'k:{"name":"metrics"}', 'k:{"name":"nginx"}',
    ]);
  });

  it('merges the labels map key by key', () => {
    const base = stored(apply(undefined, deployment({}, { labels: { app: 'web' } }), 'kubectl'));
    const labelled = structuredClone(base);
    labelled.metadata.labels.team = 'a';
    updateManagedFields({ old: base, next: labelled, manager: 'kubectl-label', schema: deploymentSchema, apiVersion: 'apps/v1', now: T1 });
    const next = apply(labelled, deployment({}, { labels: { app: 'web', tier: 'frontend' } }), 'kubectl', { now: T2 });
    assert.deepEqual(next.metadata.labels, { app: 'web', team: 'a', tier: 'frontend' });
    const dropped = apply(stored(next), deployment({}, {}), 'kubectl', { now: T2 });
    assert.deepEqual(dropped.metadata.labels, { team: 'a' });
  });

  it('replaces atomic lists (tolerations) whole', () => {
    const tolerations = [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }];
    const base = stored(apply(undefined, deployment({ template: { spec: { containers: [{ name: 'nginx', image: 'nginx' }], tolerations } } }), 'kubectl'));
    const next = apply(base, deployment({ template: { spec: { containers: [{ name: 'nginx', image: 'nginx' }], tolerations: [{ key: 'c', operator: 'Exists' }] } } }), 'kubectl');
    assert.deepEqual(next.spec.template.spec.tolerations, [{ key: 'c', operator: 'Exists' }]);
    assert.deepEqual(owned(next, 'kubectl')['f:spec']['f:template']['f:spec']['f:tolerations'], {});
  });

  it('leaves status alone when the configuration has none', () => {
    const base = stored(apply(undefined, deployment({ replicas: 1 }), 'kubectl'));
    base.status = { replicas: 1, readyReplicas: 1, conditions: [{ type: 'Available', status: 'True' }] };
    const next = apply(base, deployment({ replicas: 2 }), 'kubectl');
    assert.deepEqual(next.status, base.status);
    assert.equal(next.spec.replicas, 2);
  });

  it('does not give ownership of ignored (reset) fields', () => {
    const next = apply(undefined, { ...deployment(), status: { replicas: 9 } }, 'kubectl', { ignoredFields: [['status']] });
    assert.equal(owned(next, 'kubectl')['f:status'], undefined);
  });

  it('merges ConfigMap data and removes keys the applier dropped', () => {
    const cm = (data: Obj) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data });
    const opts = { schema: configMapSchema, apiVersion: 'v1' };
    const first = stored(apply(undefined, cm({ a: '1', b: '2' }), 'kubectl', opts));
    assert.deepEqual(owned(first, 'kubectl'), { 'f:data': { 'f:a': {}, 'f:b': {} } });
    const second = apply(first, cm({ a: '1', c: '3' }), 'kubectl', opts);
    assert.deepEqual(second.data, { a: '1', c: '3' });
  });
  it('merges objects without a schema (custom resources): maps by key, lists whole', () => {
    const cr = (spec: Obj) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec });
    const opts = { schema: undefined, apiVersion: 'example.com/v1' };
    const first = stored(apply(undefined, cr({ size: 1, tags: ['a', 'b'], nested: { x: 1 } }), 'team-a', opts));
    const second = apply(first, cr({ tags: ['c'], nested: { y: 2 } }), 'team-b', { ...opts, force: true });
    assert.deepEqual(second.spec, { size: 1, tags: ['c'], nested: { x: 1, y: 2 } });
    assert.deepEqual(owned(second, 'team-b'), { 'f:spec': { '.': {}, 'f:nested': { '.': {}, 'f:y': {} }, 'f:tags': {} } });
  });
});

describe('serverSideApply: request errors', () => {
  it('rejects a configuration of another version (400)', () => {
    const error = conflictOf(() => apply(undefined, { ...deployment(), apiVersion: 'apps/v1beta1' }, 'kubectl'));
    assert.equal(error.code, 400);
    assert.equal(error.message, 'Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1');
  });

  it('rejects managedFields in the configuration (400)', () => {
    const error = conflictOf(() => apply(undefined, deployment({}, { managedFields: [] }), 'kubectl'));
    assert.equal(error.code, 400);
    assert.equal(error.message, 'metadata.managedFields must be nil');
  });

  it('reports list items without keys and duplicate keys as upstream (500)', () => {
    const missing = conflictOf(() => apply(undefined, deployment({ template: { spec: { containers: [{ image: 'x' }] } } }), 'kubectl'));
    assert.equal(missing.code, 500);
    assert.equal(missing.message, 'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: element 0: associative list with keys has an element that omits all key fields ["name"] (and doesn\'t have default values for any key fields)');
    const twice = conflictOf(() => apply(undefined, deployment({ template: { spec: { containers: [{ name: 'a' }, { name: 'a' }] } } }), 'kubectl'));
    assert.equal(twice.message, 'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name="a"]');
  });
});
