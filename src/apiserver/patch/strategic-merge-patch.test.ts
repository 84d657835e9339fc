// Strategic merge patch against the real schema facts, with the patch shapes
// `kubectl apply` (client-side) sends. Expected results follow the behaviour
// of apimachinery's strategicpatch package.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyStrategicMergePatch } from './strategic-merge-patch.ts';
import { PatchError } from './errors.ts';
import { kindSchema } from '../../api/schema/facts.ts';
import type { SchemaNode } from '../../api/schema/facts.ts';

const deploymentSchema = kindSchema({ group: 'apps', version: 'v1', kind: 'Deployment' }) as SchemaNode;
const podSchema = kindSchema({ group: '', version: 'v1', kind: 'Pod' }) as SchemaNode;
const revisionSchema = kindSchema({ group: 'apps', version: 'v1', kind: 'ControllerRevision' }) as SchemaNode;

type Obj = Record<string, any>;

/** Apply, and check the invariants every result must keep. */
function smp(original: Obj, patch: unknown, schema: SchemaNode | undefined = podSchema): Obj {
  const originalBefore = structuredClone(original);
  const patchBefore = structuredClone(patch);
  const result = applyStrategicMergePatch(original, patch, schema) as Obj;
  assert.deepEqual(original, originalBefore, 'the original must not change');
  assert.deepEqual(patch, patchBefore, 'the patch must not change');
  assertNoDirectives(result);
  return result;
}

function assertNoDirectives(value: unknown, path = ''): void {
  if (Array.isArray(value)) value.forEach((v, i) => assertNoDirectives(v, `${path}[${i}]`));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      assert.ok(!/^\$(patch|retainKeys|setElementOrder|deleteFromPrimitiveList)/.test(k), `directive ${k} left at ${path}`);
      assertNoDirectives(v, `${path}.${k}`);
    }
  }
}

function smpError(original: Obj, patch: unknown, schema: SchemaNode | undefined = podSchema): PatchError {
  try {
    applyStrategicMergePatch(original, patch, schema);
  } catch (error) {
    assert.ok(error instanceof PatchError, `expected a PatchError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a PatchError');
}

const names = (list: Obj[]) => list.map((item) => item.name);

function deployment(podSpec: Obj): Obj {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec } },
  };
}

describe('applyStrategicMergePatch: what kubectl apply sends', () => {
  it('merges containers and env by name, deletes by directive, orders by $setElementOrder', () => {
    const original = deployment({
      containers: [{
        name: 'nginx', image: 'nginx:1.25',
        env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
        ports: [{ containerPort: 80, protocol: 'TCP' }],
      }],
    });
    const patch = { spec: { template: { spec: {
      '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }],
      containers: [
        { name: 'nginx', image: 'nginx:1.26', '$setElementOrder/env': [{ name: 'B' }, { name: 'C' }], env: [{ name: 'C', value: '3' }, { $patch: 'delete', name: 'A' }] },
        { name: 'sidecar', image: 'busybox' },
      ],
    } } } };
    const result = smp(original, patch, deploymentSchema);
    assert.deepEqual(result.spec.template.spec.containers, [
      { name: 'nginx', image: 'nginx:1.26', env: [{ name: 'B', value: '2' }, { name: 'C', value: '3' }], ports: [{ containerPort: 80, protocol: 'TCP' }] },
      { name: 'sidecar', image: 'busybox' },
    ]);
    assert.deepEqual(result.metadata, original.metadata);
    assert.equal(result.spec.replicas, 1);
  });

  it('merges ports by containerPort', () => {
    const original = { spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] }] } };
    const result = smp(original, { spec: { containers: [{ name: 'c', ports: [{ containerPort: 443, name: 'https' }] }] } });
    assert.deepEqual(result.spec.containers[0].ports, [{ containerPort: 80, name: 'http' }, { containerPort: 443, name: 'https' }]);
  });

  it('deletes map keys set to null and adds new ones (labels)', () => {
    const original = { metadata: { name: 'p', labels: { app: 'web', tier: 'front', old: 'x' }, annotations: { a: '1' } } };
    const result = smp(original, { metadata: { labels: { old: null, tier: 'back', new: 'y', absent: null } } });
    assert.deepEqual(result.metadata, { name: 'p', labels: { app: 'web', tier: 'back', new: 'y' }, annotations: { a: '1' } });
  });

  it('replaces lists without a patch strategy (tolerations are atomic)', () => {
    const original = { spec: { tolerations: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }] } };
    const result = smp(original, { spec: { tolerations: [{ key: 'c', operator: 'Equal', value: 'v' }] } });
    assert.deepEqual(result.spec.tolerations, [{ key: 'c', operator: 'Equal', value: 'v' }]);
  });

  it('removes finalizers with $deleteFromPrimitiveList and keeps the order asked for', () => {
    const original = { metadata: { name: 'p', finalizers: ['a', 'b', 'c'] } };
    const result = smp(original, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'], '$setElementOrder/finalizers': ['c', 'a'] } });
    assert.deepEqual(result.metadata.finalizers, ['c', 'a']);
    // A deletion list never adds, and leaves a missing list missing.
    assert.deepEqual(smp(original, { metadata: { '$deleteFromPrimitiveList/finalizers': ['zzz'] } }).metadata.finalizers, ['a', 'b', 'c']);
    assert.equal(smp({ metadata: {} }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }).metadata.finalizers, undefined);
  });

  it('unions primitive lists with strategy merge (new items first without $setElementOrder, as upstream)', () => {
    const original = { metadata: { finalizers: ['a', 'b'] } };
    assert.deepEqual(smp(original, { metadata: { finalizers: ['b', 'c'] } }).metadata.finalizers, ['a', 'b', 'c']);
    assert.deepEqual(smp(original, { metadata: { finalizers: ['c'] } }).metadata.finalizers, ['c', 'a', 'b']);
    assert.deepEqual(smp(original, { metadata: { '$setElementOrder/finalizers': ['a', 'b', 'c'], finalizers: ['c'] } }).metadata.finalizers, ['a', 'b', 'c']);
  });

  it('switches a volume source with $retainKeys (patch strategy merge,retainKeys)', () => {
    const original = { spec: { volumes: [{ name: 'data', emptyDir: {} }, { name: 'config', configMap: { name: 'cm' } }] } };
    const result = smp(original, { spec: {
      '$setElementOrder/volumes': [{ name: 'data' }, { name: 'config' }],
      volumes: [{ $retainKeys: ['hostPath', 'name'], name: 'data', hostPath: { path: '/srv' } }],
    } });
    assert.deepEqual(result.spec.volumes, [{ name: 'data', hostPath: { path: '/srv' } }, { name: 'config', configMap: { name: 'cm' } }]);
  });

  it('switches a Deployment strategy with $retainKeys', () => {
    const original = deployment({ containers: [] });
    original.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
    const result = smp(original, { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } }, deploymentSchema);
    assert.deepEqual(result.spec.strategy, { type: 'Recreate' });
  });

  it('keeps a server-added container after a renamed one, as upstream orders it', () => {
    // Live [app, istio-proxy]; last-applied had "app", the new config names "web".
    const original = { spec: { containers: [{ name: 'app', image: 'a' }, { name: 'istio-proxy', image: 'proxy' }] } };
    const result = smp(original, { spec: {
      '$setElementOrder/containers': [{ name: 'web' }],
      containers: [{ name: 'web', image: 'w' }, { $patch: 'delete', name: 'app' }],
    } });
    assert.deepEqual(names(result.spec.containers), ['istio-proxy', 'web']);
  });

  it('interleaves server-only items by their live position', () => {
    const original = { spec: { containers: ['1', '2', '9', '3', '4'].map((name) => ({ name })) } };
    const result = smp(original, { spec: { '$setElementOrder/containers': ['2', '1', '4', '3'].map((name) => ({ name })) } });
    assert.deepEqual(names(result.spec.containers), ['2', '1', '9', '4', '3']);
  });

  it('puts a new item named first in the patch first when there is no $setElementOrder', () => {
    const original = { spec: { containers: [{ name: 'a' }, { name: 'b' }] } };
    assert.deepEqual(names(smp(original, { spec: { containers: [{ name: 'new' }] } }).spec.containers), ['new', 'a', 'b']);
    assert.deepEqual(names(smp(original, { spec: { containers: [{ name: 'b', image: 'x' }, { name: 'new' }] } }).spec.containers), ['a', 'b', 'new']);
  });
});

// Bodies `kubectl apply` 1.32 PATCHed (recorded against a logging server on
// loopback, with the live object it was given; the last-applied annotation
// value is abbreviated).
const fixture = (name: string): { live: Obj; patch: Obj } =>
  JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8'));

describe('applyStrategicMergePatch: patches recorded from kubectl apply', () => {
  it('labels, $retainKeys strategy and volumes, containers/env/ports with $setElementOrder, atomic tolerations', () => {
    const { live, patch } = fixture('kubectl-apply-deployment.json');
    const result = smp(live, patch, deploymentSchema);
    assert.deepEqual(result.metadata.labels, { app: 'web', injected: 'yes', env: 'prod' });
    assert.deepEqual(result.spec.strategy, { type: 'Recreate' });
    const podSpec = result.spec.template.spec;
    // The server-only container stays after the ones the patch names.
    assert.deepEqual(names(podSpec.containers), ['nginx', 'sidecar', 'istio-proxy']);
    assert.deepEqual(podSpec.containers[0], {
      name: 'nginx', image: 'nginx:1.26',
      env: [{ name: 'B', value: '2' }, { name: 'C', value: '3' }],
      ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
      imagePullPolicy: 'IfNotPresent',
    });
    assert.deepEqual(podSpec.volumes, [{ name: 'data', hostPath: { path: '/srv' } }]);
    assert.deepEqual(podSpec.tolerations, [{ key: 'b', operator: 'Exists' }]);
    assert.equal(podSpec.restartPolicy, 'Always');
    assert.deepEqual(result.status, { replicas: 2 });
  });

  it('finalizer removal, container rename next to a server-only container, map removal', () => {
    const { live, patch } = fixture('kubectl-apply-rename.json');
    const result = smp(live, patch, deploymentSchema);
    assert.deepEqual(result.metadata.finalizers, ['a.example.com/x', 'server.example.com/z']);
    assert.deepEqual(result.spec.template.spec, { containers: [{ name: 'istio-proxy', image: 'proxy:1' }, { image: 'nginx:1.26', name: 'web' }] });
  });
});

describe('applyStrategicMergePatch: $patch directives', () => {
  it('replaces a map with $patch: replace', () => {
    const original = { spec: { nodeSelector: { disk: 'ssd', zone: 'a' }, containers: [] } };
    const result = smp(original, { spec: { nodeSelector: { $patch: 'replace', zone: 'b' } } });
    assert.deepEqual(result.spec.nodeSelector, { zone: 'b' });
  });

  it('takes a map whole when its field has patch strategy "replace" (PodDisruptionBudget selector)', () => {
    const pdbSchema = kindSchema({ group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' }) as SchemaNode;
    const original = { spec: { minAvailable: 1, selector: { matchLabels: { app: 'a' }, matchExpressions: [{ key: 'k', operator: 'Exists' }] } } };
    const result = smp(original, { spec: { selector: { matchLabels: { app: 'b', x: null } } } }, pdbSchema);
    assert.deepEqual(result.spec, { minAvailable: 1, selector: { matchLabels: { app: 'b' } } });
  });

  it('replaces the whole object with a top-level $patch: replace', () => {
    const result = smp({ metadata: { name: 'a' }, spec: { x: 1 } }, { $patch: 'replace', metadata: { name: 'b' } });
    assert.deepEqual(result, { metadata: { name: 'b' } });
  });

  it('empties a map with $patch: delete', () => {
    const result = smp({ metadata: { labels: { a: '1' } } }, { metadata: { labels: { $patch: 'delete' } } });
    assert.deepEqual(result.metadata, { labels: {} });
  });

  it('replaces a merge list when an item says $patch: replace', () => {
    const original = { spec: { containers: [{ name: 'a', image: 'a' }, { name: 'b', image: 'b' }] } };
    const result = smp(original, { spec: { containers: [{ name: 'c', image: 'c' }, { $patch: 'replace' }] } });
    assert.deepEqual(result.spec.containers, [{ name: 'c', image: 'c' }]);
  });

  it('deletes every list item with the merge key named by $patch: delete, and ignores missing ones', () => {
    const original = { spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'a', image: 'dup' }] } };
    assert.deepEqual(smp(original, { spec: { containers: [{ $patch: 'delete', name: 'a' }] } }).spec.containers, [{ name: 'b' }]);
    const unique = { spec: { containers: [{ name: 'b' }, { name: 'a' }] } };
    assert.deepEqual(smp(unique, { spec: { containers: [{ $patch: 'delete', name: 'zzz' }] } }).spec.containers, unique.spec.containers);
  });

  it('rejects $patch: merge and unknown $patch values with a 500, as upstream', () => {
    const original = { spec: { containers: [{ name: 'a' }], nodeSelector: { a: 'b' } } };
    let error = smpError(original, { spec: { containers: [{ $patch: 'merge', name: 'a' }] } });
    assert.equal(error.code, 500);
    assert.match(error.message, /merging lists cannot yet be specified in the patch/);
    error = smpError(original, { spec: { nodeSelector: { $patch: 'merge' } } });
    assert.equal(error.code, 500);
    assert.match(error.message, /unknown patch type: "merge" in map/);
    assert.equal(error.toStatus().reason, undefined);
  });
});

describe('applyStrategicMergePatch: values the original lacks', () => {
  it('takes them from the patch without nulls or directives', () => {
    const result = smp({ spec: { containers: [{ name: 'a' }] } }, { spec: {
      nodeSelector: { a: '1', b: null },
      affinity: { $patch: 'delete' },
      containers: [{ name: 'new', env: [{ name: 'X', value: null }], '$setElementOrder/env': [{ name: 'X' }] }],
    } });
    assert.deepEqual(result.spec.nodeSelector, { a: '1' });
    assert.equal('affinity' in result.spec, false);
    assert.deepEqual(result.spec.containers, [{ name: 'new', env: [{ name: 'X' }] }, { name: 'a' }]);
  });

  it('replaces a value of another JSON type with the patch value', () => {
    const result = smp({ spec: { containers: 'oops', hostname: { x: 1 } } }, { spec: { containers: [{ name: 'a', x: null }], hostname: 'h' } });
    assert.deepEqual(result.spec, { containers: [{ name: 'a' }], hostname: 'h' });
  });
});

describe('applyStrategicMergePatch: fields without schema facts', () => {
  it('merges maps and replaces lists under unknown fields', () => {
    const original = { spec: { containers: [], custom: { keep: 1, list: [1, 2], nested: { a: 1 } } } };
    const result = smp(original, { spec: { custom: { list: [3], nested: { b: 2, a: null } } } });
    assert.deepEqual(result.spec.custom, { keep: 1, list: [3], nested: { b: 2 } });
  });

  it('treats RawExtension content (ControllerRevision.data) like a merge patch', () => {
    const original = { kind: 'ControllerRevision', revision: 1, data: { spec: { template: { spec: { containers: [{ name: 'a', image: 'a' }, { name: 'b' }] } } } } };
    const result = smp(original, { data: { spec: { template: { spec: { containers: [{ name: 'a', image: 'a2' }] } } } } }, revisionSchema);
    assert.deepEqual(result.data.spec.template.spec.containers, [{ name: 'a', image: 'a2' }]);
  });

  it('works with no schema at all', () => {
    const result = smp({ a: { b: 1, c: [1] } }, { a: { b: null, c: [2], d: { $patch: 'replace', e: 1 } } }, undefined);
    assert.deepEqual(result, { a: { c: [2] } });
  });

  it('keeps $-prefixed keys that are data, not directives', () => {
    const result = smp({ spec: {} }, { spec: { $ref: '#/x', $schema: 'y' } }, undefined);
    assert.deepEqual(result, { spec: { $ref: '#/x', $schema: 'y' } });
  });
});

describe('applyStrategicMergePatch: invalid patches', () => {
  const original = { metadata: { finalizers: ['a'] }, spec: { containers: [{ name: 'a' }, { name: 'b' }], volumes: [{ name: 'v', emptyDir: {} }] } };

  it('answers 400 for a patch that is not an object, and treats null as empty', () => {
    for (const bad of [[], 'x', 3]) assert.equal(smpError(original, bad).code, 400);
    assert.deepEqual(smp(original, null), original);
  });

  it('answers 500 for a list item without its merge key, with upstream wording', () => {
    const error = smpError(original, { spec: { containers: [{ image: 'x' }] } });
    assert.equal(error.code, 500);
    assert.match(error.message, /^map: \{"image":"x"\} does not contain declared merge key: name$/);
    assert.equal(smpError(original, { spec: { containers: [{ $patch: 'delete' }] } }).code, 500);
  });

  it('answers 400 for malformed directive keys and $retainKeys', () => {
    assert.equal(smpError(original, { metadata: { $deleteFromPrimitiveListfinalizers: ['a'] } }).code, 400);
    assert.equal(smpError(original, { spec: { $setElementOrder: [] } }).code, 400);
    assert.equal(smpError(original, { spec: { volumes: [{ name: 'v', $retainKeys: 'name' }] } }).code, 400);
    const error = smpError(original, { spec: { volumes: [{ name: 'v', $retainKeys: ['name'], hostPath: { path: '/' } }] } });
    assert.equal(error.code, 400);
    assert.match(error.message, /^invalid patch format of retainKeys/);
  });

  it('answers 500 when $setElementOrder disagrees with the patch list', () => {
    const error = smpError(original, { spec: { '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }], containers: [{ name: 'b' }, { name: 'a' }] } });
    assert.equal(error.code, 500);
    assert.match(error.message, /doesn't match \$setElementOrder list/);
  });

  it('answers 422 for lists of lists', () => {
    const error = smpError({ metadata: { finalizers: [] } }, { metadata: { finalizers: [['x']] } });
    assert.equal(error.code, 422);
    assert.equal(error.toStatus().message, 'the server rejected our request due to an error in our request');
  });

  it('answers 500 for mixed item types in a merge list', () => {
    assert.equal(smpError(original, { metadata: { finalizers: [1] } }).code, 500);
  });
});
