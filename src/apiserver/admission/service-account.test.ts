import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinKinds } from '../../api/registry.ts';
import { errors } from '../errors.ts';
import type { ServerParts } from '../handlers/context.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { AdmissionAttributes } from './chain.ts';
import { SERVICE_ACCOUNT_MOUNT_PATH, serviceAccountAdmission } from './service-account.ts';

const registry = builtinKinds();
const pods = registry.lookup('', 'v1', 'pods')!;

function partsWith(accounts: Record<string, Record<string, unknown>>): { parts: ServerParts; reads: () => number } {
  let reads = 0;
  const store = {
    async get(_resource: unknown, namespace: string, name: string): Promise<KubeObject> {
      reads++;
      const account = accounts[name];
      if (!account) throw errors.notFound({ group: '', resource: 'serviceaccounts' }, name);
      return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, uid: `uid-${name}` }, ...account } as KubeObject;
    },
  };
  return { parts: { registry, store } as unknown as ServerParts, reads: () => reads };
}

function attributes(pod: Record<string, unknown>, parts: ServerParts, operation: 'CREATE' | 'UPDATE' = 'CREATE'): AdmissionAttributes {
  const object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'team' }, ...pod } as KubeObject;
  return { operation, resource: pods, subresource: '', namespace: 'team', name: 'web', object, oldObject: undefined, user: undefined, dryRun: false, parts };
}

async function admit(pod: Record<string, unknown>, accounts: Record<string, Record<string, unknown>> = { default: {} }): Promise<any> {
  const attrs = attributes(pod, partsWith(accounts).parts);
  await serviceAccountAdmission.admit!(attrs);
  await serviceAccountAdmission.validate!(attrs);
  return attrs.object!.spec;
}

describe('ServiceAccount admission', () => {
  it('defaults the service account and adds the kube-api-access volume and mounts, in upstream shape', async () => {
    const spec = await admit({ spec: { initContainers: [{ name: 'init', image: 'busybox' }], containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } });
    assert.equal(spec.serviceAccountName, 'default');
    assert.equal(spec.serviceAccount, 'default');
    assert.equal(spec.volumes.length, 1);
    const volume = spec.volumes[0];
    assert.match(volume.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(volume.projected, {
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    });
    const mount = { name: volume.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH };
    assert.deepEqual(spec.initContainers[0].volumeMounts, [mount]);
    assert.deepEqual(spec.containers[0].volumeMounts, [mount]);
    assert.deepEqual(spec.containers[1].volumeMounts, [{ name: 'data', mountPath: '/data' }, mount]);
    assert.equal(spec.imagePullSecrets, undefined);
  });

  it('leaves containers that mount something at the token path alone, and adds no volume when none needs it', async () => {
    const own = { name: 'mine', mountPath: SERVICE_ACCOUNT_MOUNT_PATH };
    const spec = await admit({ spec: { volumes: [{ name: 'mine', emptyDir: {} }], containers: [{ name: 'a', image: 'x', volumeMounts: [own] }] } });
    assert.deepEqual(spec.volumes, [{ name: 'mine', emptyDir: {} }]);
    assert.deepEqual(spec.containers[0].volumeMounts, [own]);
  });

  it('honours automountServiceAccountToken: the pod first, then the service account', async () => {
    const container = () => [{ name: 'a', image: 'x' }];
    assert.equal((await admit({ spec: { automountServiceAccountToken: false, containers: container() } })).volumes, undefined);
    assert.equal((await admit({ spec: { containers: container() } }, { default: { automountServiceAccountToken: false } })).volumes, undefined);
    assert.equal((await admit({ spec: { automountServiceAccountToken: true, containers: container() } }, { default: { automountServiceAccountToken: false } })).volumes.length, 1);
  });

  it('keeps a named account (and the deprecated serviceAccount field), and copies its imagePullSecrets when the pod has none', async () => {
    const accounts = { robot: { imagePullSecrets: [{ name: 'regcred' }] }, default: {} };
    const named = await admit({ spec: { serviceAccount: 'robot', containers: [{ name: 'a', image: 'x' }] } }, accounts);
    assert.equal(named.serviceAccountName, 'robot');
    assert.deepEqual(named.imagePullSecrets, [{ name: 'regcred' }]);
    const own = await admit({ spec: { serviceAccountName: 'robot', imagePullSecrets: [{ name: 'mine' }], containers: [{ name: 'a', image: 'x' }] } }, accounts);
    assert.deepEqual(own.imagePullSecrets, [{ name: 'mine' }]);
  });

  it('refuses a pod whose service account does not exist, with upstream message', async () => {
    const started = Date.now();
    await assert.rejects(admit({ spec: { serviceAccountName: 'ghost', containers: [{ name: 'a', image: 'x' }] } }), (error: any) => {
      assert.equal(error.code, 403);
      assert.equal(error.message, 'pods "web" is forbidden: error looking up service account team/ghost: serviceaccount "ghost" not found');
      return true;
    });
    assert.ok(Date.now() - started < 500, 'named accounts are looked up once');
  });

  it('waits a little for the default account, which the controller creates just after the namespace', async () => {
    const accounts: Record<string, Record<string, unknown>> = {};
    const { parts, reads } = partsWith(accounts);
    const attrs = attributes({ spec: { containers: [{ name: 'a', image: 'x' }] } }, parts);
    setTimeout(() => { accounts.default = {}; }, 250);
    await serviceAccountAdmission.admit!(attrs);
    assert.ok(reads() >= 2);
    assert.equal((attrs.object!.spec as any).serviceAccountName, 'default');
  });

  it('does not touch mirror pods, and refuses those referencing accounts, secrets or token projections', async () => {
    const mirror = { metadata: { name: 'web', namespace: 'team', annotations: { 'kubernetes.io/config.mirror': 'hash' } } };
    const spec = await admit({ ...mirror, spec: { containers: [{ name: 'a', image: 'x' }] } }, {});
    assert.equal(spec.serviceAccountName, undefined);
    assert.equal(spec.volumes, undefined);
    await assert.rejects(admit({ ...mirror, spec: { serviceAccountName: 'default', containers: [] } }), /a mirror pod may not reference service accounts/);
    await assert.rejects(admit({ ...mirror, spec: { volumes: [{ name: 's', secret: { secretName: 's' } }], containers: [] } }), /a mirror pod may not reference secrets/);
  });

  it('limits secret references when the account enforces mountable secrets', async () => {
    const accounts = { default: { metadata: { name: 'default', annotations: { 'kubernetes.io/enforce-mountable-secrets': 'true' } }, secrets: [{ name: 'ok' }] } };
    await admit({ spec: { volumes: [{ name: 'v', secret: { secretName: 'ok' } }], containers: [{ name: 'a', image: 'x' }] } }, accounts);
    await assert.rejects(
      admit({ spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'E', valueFrom: { secretKeyRef: { name: 'other', key: 'k' } } }] }] } }, accounts),
      /container a with envVar E referencing secret.secretName="other" is not allowed because service account default does not reference that secret/,
    );
  });

  it('ignores updates and other kinds', async () => {
    const { parts, reads } = partsWith({});
    await serviceAccountAdmission.admit!(attributes({ spec: { containers: [] } }, parts, 'UPDATE'));
    assert.equal(reads(), 0);
  });
});
