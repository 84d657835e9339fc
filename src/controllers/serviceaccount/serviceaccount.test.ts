// The serviceaccount and root-ca-cert-publisher controllers against a real
// in-process API server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import { startControllerManager } from '../manager.ts';
import { DESCRIPTION_ANNOTATION, ROOT_CA_CONFIGMAP } from '../root-ca-cert-publisher/controller.ts';
import { sleep, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { serviceAccountsResource } from './controller.ts';

const configMaps = { group: '', version: 'v1', resource: 'configmaps' } as const;
type Ref = { group: string; version: string; resource: string };

describe('serviceaccount and root-ca-cert-publisher controllers', () => {
  let h: Harness;
  const find = async (ref: Ref, namespace: string, name: string) => {
    try {
      return await h.client.get<KubeObject & { data?: Record<string, string> }>({ ...ref, namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const newNamespace = (name: string) => h.client.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  /** A second manager running only the publisher, with or without a CA. */
  const startPublisher = (rootCaCert: string | undefined) =>
    startControllerManager({ client: h.client, controllers: 'root-ca-cert-publisher', rootCaCert, logger: { info() {}, warn() {} } });

  before(async () => {
    h = await startHarness({ controllers: 'serviceaccount' });
  });
  after(async () => {
    await h?.stop();
  });

  it('creates the default ServiceAccount in every namespace and re-creates it when deleted', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      await waitFor(`default account in ${ns}`, () => find(serviceAccountsResource, ns, 'default'));
    }
    await newNamespace('team-a');
    const first = await waitFor('default account in team-a', () => find(serviceAccountsResource, 'team-a', 'default'));
    await h.client.delete({ ...serviceAccountsResource, namespace: 'team-a', name: 'default' });
    await waitFor('a new default account', async () => {
      const sa = await find(serviceAccountsResource, 'team-a', 'default');
      return sa && sa.metadata.uid !== first.metadata.uid;
    });
  });

  it('publishes the CA as kube-root-ca.crt in every namespace, and repairs or re-creates it', async () => {
    const publisher = await startPublisher(h.server.caCert);
    try {
      const inDefault = await waitFor('ConfigMap in default', () => find(configMaps, 'default', ROOT_CA_CONFIGMAP));
      assert.deepEqual(inDefault.data, { 'ca.crt': h.server.caCert });
      assert.ok(inDefault.metadata.annotations?.[DESCRIPTION_ANNOTATION]);

      await newNamespace('team-b');
      await waitFor('ConfigMap in team-b', () => find(configMaps, 'team-b', ROOT_CA_CONFIGMAP));
      const ref = { ...configMaps, namespace: 'team-b', name: ROOT_CA_CONFIGMAP };
      await h.client.patch(ref, 'merge', { data: { 'ca.crt': 'tampered', extra: 'x' }, metadata: { labels: { keep: 'me' } } });
      const repaired = await waitFor('repaired ConfigMap', async () => {
        const cm = await find(configMaps, 'team-b', ROOT_CA_CONFIGMAP);
        return cm?.data?.['ca.crt'] === h.server.caCert && cm;
      });
      assert.deepEqual(repaired.data, { 'ca.crt': h.server.caCert });
      assert.equal(repaired.metadata.labels?.keep, 'me');

      await h.client.delete(ref);
      await waitFor('re-created ConfigMap', () => find(configMaps, 'team-b', ROOT_CA_CONFIGMAP));
    } finally {
      await publisher.stop();
    }
  });

  it('publishes nothing without a CA', async () => {
    const publisher = await startPublisher(undefined);
    try {
      await newNamespace('no-ca');
      await waitFor('default account in no-ca', () => find(serviceAccountsResource, 'no-ca', 'default'));
      await sleep(500); // a publisher with a CA creates the ConfigMap within milliseconds of the namespace
      assert.equal(await find(configMaps, 'no-ca', ROOT_CA_CONFIGMAP), undefined);
    } finally {
      await publisher.stop();
    }
  });
});
