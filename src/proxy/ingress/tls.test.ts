import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { startIngressController, type RunningIngressController } from './controller.ts';
import { backend, createFakeView, service, slice } from './fake-view.ts';
import { selfSignedCertificate, type CertificatePair } from './tls.ts';
import type { Secret } from './types.ts';

const quiet = { lines: [] as string[], info(m: string) { this.lines.push(m); }, warn(m: string) { this.lines.push(m); } };

function tlsSecret(namespace: string, name: string, pair: CertificatePair, resourceVersion: string): Secret {
  return {
    metadata: { namespace, name, uid: `uid-${name}`, resourceVersion },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(pair.cert).toString('base64'), 'tls.key': Buffer.from(pair.key).toString('base64') },
  };
}

/** The certificate the server presents for `servername` (undefined: no SNI). */
function presented(port: number, servername: string | undefined): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}

describe('ingress TLS', () => {
  let endpoint: Server;
  let seen: IncomingHttpHeaders | undefined;
  let ingress: RunningIngressController;
  let shopCert: CertificatePair;
  let wildCert: CertificatePair;
  let defaultCert: CertificatePair;
  const view = createFakeView();

  before(async () => {
    endpoint = createServer((req, res) => { seen = req.headers; res.end('secure hello'); });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    [shopCert, wildCert, defaultCert] = await Promise.all([
      selfSignedCertificate({ commonName: 'shop', names: ['shop.test'] }),
      selfSignedCertificate({ commonName: 'wild', names: ['*.apps.test'] }),
      selfSignedCertificate({ commonName: 'fallback', names: ['ingress.local'] }),
    ]);
    view.objects.ingresses.push({
      metadata: { name: 'shop', namespace: 'web' },
      spec: {
        ingressClassName: 'skiff',
        tls: [{ hosts: ['shop.test'], secretName: 'shop-tls' }, { hosts: ['*.apps.test'], secretName: 'wild-tls' }, { hosts: ['broken.test'], secretName: 'broken-tls' }],
        rules: [{ host: 'shop.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('front', 80) }] } }],
      },
    });
    view.objects.services.push(service('web', 'front', [{ port: 80 }]));
    view.objects.slices.push(slice('web', 'front', [{ port: (endpoint.address() as AddressInfo).port }], [['127.0.0.1', true]]));
    view.objects.secrets.push(
      tlsSecret('web', 'shop-tls', shopCert, '1'),
      tlsSecret('web', 'wild-tls', wildCert, '1'),
      { metadata: { namespace: 'web', name: 'broken-tls', uid: 'u', resourceVersion: '1' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'bm90IGEgY2VydA==', 'tls.key': '' } },
    );
    ingress = await startIngressController({ view, addresses: ['127.0.0.1'], httpPort: 0, httpsPort: 0, logger: quiet, defaultCertificate: defaultCert });
  });

  after(async () => {
    await ingress?.stop();
    endpoint?.closeAllConnections();
    await new Promise((resolve) => endpoint?.close(resolve));
  });

  it('serves the Secret\'s certificate for its host by SNI (exact and wildcard)', async () => {
    assert.equal((await presented(ingress.httpsPort, 'shop.test')).subject.CN, 'shop');
    assert.equal((await presented(ingress.httpsPort, 'SHOP.test')).subject.CN, 'shop');
    assert.equal((await presented(ingress.httpsPort, 'a.apps.test')).subject.CN, 'wild');
  });

  it('serves the default certificate for unclaimed names, no SNI, and unusable Secrets', async () => {
    assert.equal((await presented(ingress.httpsPort, 'other.test')).subject.CN, 'fallback');
    assert.equal((await presented(ingress.httpsPort, 'a.b.apps.test')).subject.CN, 'fallback');
    assert.equal((await presented(ingress.httpsPort, undefined)).subject.CN, 'fallback');
    assert.equal((await presented(ingress.httpsPort, 'broken.test')).subject.CN, 'fallback');
    assert.ok(quiet.lines.some((l) => l.includes('web/broken-tls') && l.includes('not a usable TLS certificate')));
  });

  it('proxies HTTPS requests (verified against the Secret\'s certificate) with X-Forwarded-Proto https', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: ingress.httpsPort, servername: 'shop.test', path: '/', headers: { host: 'shop.test' }, ca: shopCert.cert, checkServerIdentity: () => undefined }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(body, 'secure hello');
    assert.equal(seen?.['x-forwarded-proto'], 'https');
  });

  it('serves a renewed certificate once the Secret\'s resourceVersion changes', async () => {
    const renewed = await selfSignedCertificate({ commonName: 'shop-renewed', names: ['shop.test'] });
    view.objects.secrets[0] = tlsSecret('web', 'shop-tls', renewed, '2');
    view.changed('secrets');
    assert.equal((await presented(ingress.httpsPort, 'shop.test')).subject.CN, 'shop-renewed');
  });
});
