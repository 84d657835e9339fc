// The load-balancer status controller against a real API server in this
// process: nodes are created and changed by the test itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type KubeObject } from '../../client/interface.ts';
import { startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { compareIps, isSkiffIngress, lbAddresses, wantsServiceLb, type LbNode } from './addresses.ts';

const ingressesRef = { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' } as const;
const classesRef = { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses' } as const;

function node(name: string, options: { internal: string; external?: string; ready?: boolean; unschedulable?: boolean }): LbNode {
  return {
    metadata: { name },
    spec: { unschedulable: options.unschedulable },
    status: {
      addresses: [{ type: 'InternalIP', address: options.internal }, ...(options.external ? [{ type: 'ExternalIP', address: options.external }] : [])],
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
    },
  };
}

describe('servicelb: decisions', () => {
  it('takes ExternalIP over InternalIP, skips not-ready, unschedulable, excluded and address-less nodes, sorts numerically', () => {
    const nodes = [
      node('a', { internal: '192.0.2.10' }),
      node('b', { internal: '192.0.2.9', external: '198.51.100.2' }),
      node('c', { internal: '192.0.2.100' }),
      node('d', { internal: '192.0.2.11', ready: false }),
      node('e', { internal: '192.0.2.12', unschedulable: true }),
      { metadata: { name: 'f' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      node('g', { internal: '192.0.2.10' }),
      { ...node('h', { internal: '192.0.2.13' }), metadata: { name: 'h', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } } },
    ];
    assert.deepEqual(lbAddresses(nodes), ['192.0.2.10', '192.0.2.100', '198.51.100.2']);
    assert.ok(compareIps('10.0.0.9', '10.0.0.10') < 0);
    assert.ok(compareIps('10.0.0.9', '::1') < 0);
  });

  it('serves LoadBalancer Services without a class or with skiff.dev/servicelb only', () => {
    const svc = (spec: Record<string, unknown>) => ({ metadata: { name: 's' }, spec });
    assert.equal(wantsServiceLb(svc({ type: 'LoadBalancer' })), true);
    assert.equal(wantsServiceLb(svc({ type: 'LoadBalancer', loadBalancerClass: 'skiff.dev/servicelb' })), true);
    assert.equal(wantsServiceLb(svc({ type: 'LoadBalancer', loadBalancerClass: 'example.com/other' })), false);
    assert.equal(wantsServiceLb(svc({ type: 'NodePort' })), false);
  });

  it('picks skiff Ingresses by class name, legacy annotation, or the default class', () => {
    const ing = (spec: Record<string, unknown>, annotations?: Record<string, string>) => ({ metadata: { name: 'i', annotations }, spec });
    const skiffDefault = { metadata: { name: 'skiff', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'skiff.dev/ingress-controller' } };
    const other = { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } };
    assert.equal(isSkiffIngress(ing({ ingressClassName: 'skiff' }), []), true);
    assert.equal(isSkiffIngress(ing({ ingressClassName: 'nginx' }), [skiffDefault, other]), false);
    assert.equal(isSkiffIngress(ing({}), [skiffDefault, other]), true);
    assert.equal(isSkiffIngress(ing({}), [other]), false);
    assert.equal(isSkiffIngress(ing({ ingressClassName: 'skiff' }, { 'kubernetes.io/ingress.class': 'nginx' }), [skiffDefault]), false);
  });
});

describe('servicelb controller', () => {
  let h: Harness;

  const putNode = async (n: LbNode) => {
    const created = await h.client.create(resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: n.metadata, spec: n.spec });
    await h.client.patch({ ...resources.nodes, name: created.metadata.name, subresource: 'status' }, 'merge', { status: n.status });
  };
  const setReady = (name: string, ready: boolean) => h.client.patch({ ...resources.nodes, name, subresource: 'status' }, 'merge', {
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const lbIps = async (ns: string, name: string) => {
    const svc = await h.client.get({ ...resources.services, namespace: ns, name });
    return ((svc.status as { loadBalancer?: { ingress?: { ip: string; ipMode?: string }[] } })?.loadBalancer?.ingress ?? []);
  };
  const waitIps = (ns: string, name: string, want: string[]) => waitFor(`${ns}/${name} ingress ${want.join(',') || '(none)'}`, async () => {
    const got = await lbIps(ns, name);
    return JSON.stringify(got.map((i) => i.ip)) === JSON.stringify(want) && got;
  });

  before(async () => {
    h = await startHarness({ controllers: 'servicelb' });
    await putNode(node('lb-a', { internal: '192.0.2.21' }));
    await putNode(node('lb-b', { internal: '192.0.2.22', external: '198.51.100.22' }));
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(h?.warnings);
    await h?.stop();
  });

  it('fills a LoadBalancer Service with the Ready nodes\' addresses (ipMode VIP), follows the nodes, allocates node ports, records events', async () => {
    const ns = await h.namespace('slb-basic');
    await h.client.create({ ...resources.services, namespace: ns }, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const ingress = await waitIps(ns, 'web', ['192.0.2.21', '198.51.100.22']);
    assert.deepEqual(ingress.map((i) => i.ipMode), ['VIP', 'VIP']);
    const svc = await h.client.get({ ...resources.services, namespace: ns, name: 'web' });
    assert.ok(((svc.spec as { ports: { nodePort?: number }[] }).ports[0].nodePort ?? 0) >= 30000, 'a node port is allocated');

    await setReady('lb-a', false);
    await waitIps(ns, 'web', ['198.51.100.22']);
    await putNode(node('lb-c', { internal: '192.0.2.3' }));
    await setReady('lb-a', true);
    await waitIps(ns, 'web', ['192.0.2.3', '192.0.2.21', '198.51.100.22']);
    await h.client.delete({ ...resources.nodes, name: 'lb-c' });
    await waitIps(ns, 'web', ['192.0.2.21', '198.51.100.22']);

    const reasons = await waitFor('the load balancer events', async () => {
      const events = await h.client.list({ ...resources.events, namespace: ns });
      const seen = events.items.filter((e: KubeObject) => (e.involvedObject as { name: string }).name === 'web').map((e: KubeObject) => e.reason as string);
      return ['EnsuringLoadBalancer', 'EnsuredLoadBalancer', 'UpdatedLoadBalancer'].every((r) => seen.includes(r)) && seen;
    });
    assert.ok(reasons.includes('EnsuredLoadBalancer'));
  });

  it('clears the status when the Service stops being a LoadBalancer; leaves other classes alone', async () => {
    const ns = await h.namespace('slb-change');
    const ref = { ...resources.services, namespace: ns };
    await h.client.create(ref, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'flip' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
    await waitIps(ns, 'flip', ['192.0.2.21', '198.51.100.22']);
    await h.client.patch({ ...ref, name: 'flip' }, 'merge', {
      spec: { type: 'ClusterIP', ports: [{ port: 80, nodePort: null }], allocateLoadBalancerNodePorts: null, externalTrafficPolicy: null },
    });
    await waitIps(ns, 'flip', []);

    await h.client.create(ref, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'foreign' },
      spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/other', ports: [{ port: 80 }] },
    });
    await h.client.create(ref, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'marker' }, spec: { type: 'LoadBalancer', ports: [{ port: 81 }] } });
    await waitIps(ns, 'marker', ['192.0.2.21', '198.51.100.22']);
    assert.deepEqual(await lbIps(ns, 'foreign'), []);
  });

  it('fills Ingresses of the skiff class (named, or by default) and no others', async () => {
    const ns = await h.namespace('slb-ingress');
    // The API server's bootstrap makes the default class `skiff`.
    const skiffClass = await h.client.get({ ...classesRef, name: 'skiff' });
    assert.equal(skiffClass.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true');
    const backend = { service: { name: 'web', port: { number: 80 } } };
    const ingress = (name: string, spec: Record<string, unknown>) => h.client.create({ ...ingressesRef, namespace: ns }, {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name }, spec: { defaultBackend: backend, ...spec },
    });
    await ingress('named', { ingressClassName: 'skiff' });
    await ingress('defaulted', {});
    await ingress('other', { ingressClassName: 'nginx' });
    const ips = async (name: string) => {
      const ing = await h.client.get({ ...ingressesRef, namespace: ns, name });
      return ((ing.status as { loadBalancer?: { ingress?: { ip: string }[] } })?.loadBalancer?.ingress ?? []).map((i) => i.ip);
    };
    for (const name of ['named', 'defaulted']) {
      await waitFor(`ingress ${name} filled`, async () => JSON.stringify(await ips(name)) === JSON.stringify(['192.0.2.21', '198.51.100.22']));
    }
    assert.deepEqual(await ips('other'), []);
  });
});
