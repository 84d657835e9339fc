// The controller on its informers against a real in-process API server
// (loopback): objects created through the API route traffic to a local HTTP
// server standing in for a pod; changes (endpoints going unready, a TLS
// Secret, an Ingress deleted) reach the data path through the watches.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import type { ApiClient, KubeObject } from '../../client/interface.ts';
import { createRestClient } from '../../client/rest-client.ts';
import { waitFor } from '../../util/wait-for.ts';
import { startIngressController, type RunningIngressController } from './controller.ts';
import { selfSignedCertificate } from './tls.ts';

const NS = 'ingress-ctl-test';
const ref = (group: string, resource: string, namespace?: string, name?: string) => ({ group, version: 'v1', resource, namespace, name });

function status(port: number, host: string, path: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ code: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function presentedCn(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

describe('ingress controller on informers', () => {
  let server: InProcessServer;
  let client: ApiClient;
  let endpoint: Server;
  let endpointPort: number;
  let ingress: RunningIngressController;
  const warnings: string[] = [];

  before(async () => {
    server = await startInProcessServer();
    client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
    endpoint = createServer((req, res) => res.end(`pod says ${req.url}`));
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    endpointPort = (endpoint.address() as AddressInfo).port;

    await client.create(ref('', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    // The API server's bootstrap made the default `skiff` IngressClass.
    const ingressClass = await client.get<KubeObject & { spec: { controller: string } }>(ref('networking.k8s.io', 'ingressclasses', undefined, 'skiff'));
    assert.equal(ingressClass.spec.controller, 'skiff.dev/ingress-controller');
    assert.equal(ingressClass.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true');
    await client.create(ref('', 'services', NS), {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    await client.create(ref('discovery.k8s.io', 'endpointslices', NS), {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: endpointPort, protocol: 'TCP' }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    });
    const pair = await selfSignedCertificate({ commonName: 'web-cert', names: ['web.test'] });
    await client.create(ref('', 'secrets', NS), {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-tls', namespace: NS }, type: 'kubernetes.io/tls',
      data: { 'tls.crt': Buffer.from(pair.cert).toString('base64'), 'tls.key': Buffer.from(pair.key).toString('base64') },
    });
    // No class: served because `skiff` is the default IngressClass.
    await client.create(ref('networking.k8s.io', 'ingresses', NS), {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: NS },
      spec: {
        tls: [{ hosts: ['web.test'], secretName: 'web-tls' }],
        rules: [{ host: 'web.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } }] } }],
      },
    });
    ingress = await startIngressController({
      client, addresses: ['127.0.0.1'], httpPort: 0, httpsPort: 0,
      logger: { info: () => {}, warn: (m) => warnings.push(m) },
    });
    assert.equal(await ingress.ready, true);
  });

  after(async () => {
    await ingress?.stop();
    endpoint?.closeAllConnections();
    await new Promise((resolve) => endpoint?.close(resolve));
    await client?.close();
    await server?.close();
  });

  it('routes an Ingress of the default class to its Service\'s endpoints, with the Secret\'s certificate', async () => {
    assert.deepEqual(await status(ingress.httpPort, 'web.test', '/hello'), { code: 200, body: 'pod says /hello' });
    assert.equal(await presentedCn(ingress.httpsPort, 'web.test'), 'web-cert');
  });

  it('follows endpoints going unready (503) and the Ingress going away (404)', async () => {
    await client.patch(ref('discovery.k8s.io', 'endpointslices', NS, 'web-1'), 'merge', { endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: false } }] });
    await waitFor('503 without ready endpoints', async () => (await status(ingress.httpPort, 'web.test', '/')).code === 503);
    await client.delete(ref('networking.k8s.io', 'ingresses', NS, 'web'));
    await waitFor('404 once the Ingress is gone', async () => (await status(ingress.httpPort, 'web.test', '/')).code === 404);
    await waitFor('the default certificate once no Ingress claims the name', async () => (await presentedCn(ingress.httpsPort, 'web.test')) !== 'web-cert');
  });
});
