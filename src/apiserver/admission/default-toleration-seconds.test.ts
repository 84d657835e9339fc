import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionAttributes } from './chain.ts';
import { defaultTolerationSeconds } from './default-toleration-seconds.ts';
import { defaultAdmissionPlugins } from './plugins.ts';

const attributes = (object: Record<string, unknown>, extra: Partial<AdmissionAttributes> = {}) => ({
  operation: 'CREATE', subresource: '', namespace: 'default', name: 'p',
  resource: { group: '', kind: 'Pod' }, object, oldObject: undefined, user: undefined, dryRun: false,
  ...extra,
}) as unknown as AdmissionAttributes;
const pod = (tolerations?: unknown[]) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [], ...(tolerations ? { tolerations } : {}) } });
const admit = (object: Record<string, unknown>, extra?: Partial<AdmissionAttributes>) => {
  defaultTolerationSeconds.admit!(attributes(object, extra));
  return (object.spec as { tolerations?: unknown[] }).tolerations;
};

describe('DefaultTolerationSeconds admission', () => {
  it('adds the not-ready and unreachable tolerations for 300 s', () => {
    assert.deepEqual(admit(pod()), [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
  });

  it('keeps what the pod says about those taints and adds only the other', () => {
    const own = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 };
    assert.deepEqual(admit(pod([own])), [own, { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }]);
  });

  it('counts an empty key or an empty effect as tolerating', () => {
    const everything = { operator: 'Exists' };
    assert.deepEqual(admit(pod([everything])), [everything]);
    const anyEffect = [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }, { key: 'node.kubernetes.io/unreachable', operator: 'Exists' }];
    assert.deepEqual(admit(pod(anyEffect)), anyEffect);
  });

  it('does not count a NoSchedule toleration', () => {
    const noSchedule = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' };
    assert.equal(admit(pod([noSchedule]))!.length, 3);
  });

  it('leaves subresources, other kinds and deletions alone', () => {
    assert.equal(admit(pod(), { subresource: 'status' }), undefined);
    assert.equal(admit(pod(), { resource: { group: '', kind: 'Node' } } as Partial<AdmissionAttributes>), undefined);
    assert.equal(admit(pod(), { operation: 'DELETE' }), undefined);
    assert.equal(admit(pod(), { operation: 'UPDATE' })!.length, 2);
  });

  it('runs right after Priority, as kube-apiserver orders its plugins', () => {
    const names = defaultAdmissionPlugins().map((p) => p.name);
    assert.equal(names.indexOf('DefaultTolerationSeconds'), names.indexOf('Priority') + 1);
  });
});
