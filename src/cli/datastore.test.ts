// --datastore-endpoint: sqlite paths, etcd over http and over https with
// client certificates (a real etcd with certificates made here by openssl).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEtcd, type EtcdCluster } from '../storage/etcd/launcher.ts';
import { openDatastore } from './datastore.ts';

/** A CA, a server certificate for 127.0.0.1 and a client certificate (1 day, P-256). */
function makeCertificates(dir: string): Record<'ca' | 'caKey' | 'server' | 'serverKey' | 'client' | 'clientKey', string> {
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const key = (name: string) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path(name));
  key('ca.key');
  openssl('req', '-x509', '-new', '-key', path('ca.key'), '-out', path('ca.crt'), '-days', '1', '-subj', '/CN=skiff-test-etcd-ca');
  for (const [name, usage, san] of [['server', 'serverAuth', 'IP:127.0.0.1'], ['client', 'clientAuth', 'DNS:client']] as const) {
    key(`${name}.key`);
    openssl('req', '-new', '-key', path(`${name}.key`), '-out', path(`${name}.csr`), '-subj', `/CN=${name}`);
    writeFileSync(path(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    openssl('x509', '-req', '-in', path(`${name}.csr`), '-CA', path('ca.crt'), '-CAkey', path('ca.key'), '-CAcreateserial',
      '-out', path(`${name}.crt`), '-days', '1', '-extfile', path(`${name}.ext`));
  }
  return {
    ca: path('ca.crt'), caKey: path('ca.key'), server: path('server.crt'), serverKey: path('server.key'),
    client: path('client.crt'), clientKey: path('client.key'),
  };
}

describe('--datastore-endpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-datastore-'));
  let plain: EtcdCluster;
  let secure: EtcdCluster;
  let certs: ReturnType<typeof makeCertificates>;
  before(async () => {
    certs = makeCertificates(dir);
    [plain, secure] = await Promise.all([
      startEtcd(),
      startEtcd({ tls: { caFile: certs.ca, certFile: certs.server, keyFile: certs.serverKey, clientCertFile: certs.client, clientKeyFile: certs.clientKey } }),
    ]);
  });
  after(async () => {
    await Promise.all([plain?.stop(), secure?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens sqlite at sqlite://PATH', async () => {
    const store = await openDatastore({ endpoint: `sqlite://${join(dir, 'db', 'x.db')}`, dataDir: dir });
    await store.create('/a', '1');
    await store.close();
    const reopened = await openDatastore({ endpoint: `sqlite://${join(dir, 'db', 'x.db')}`, dataDir: dir });
    assert.equal((await reopened.get('/a'))?.value, '1');
    await reopened.close();
  });

  it('opens etcd from a list of http endpoints', async () => {
    const store = await openDatastore({ endpoint: `${plain.endpoints[0]},${plain.endpoints[0]}/`, dataDir: dir });
    try {
      await store.create('/registry/core/configmaps/default/x', '{}');
      assert.equal(await store.count('/registry/'), 1);
      await store.checkHealth!();
    } finally {
      await store.close();
    }
  });

  it('opens etcd over https with a CA and a client certificate', async () => {
    assert.match(secure.endpoints[0]!, /^https:/);
    const store = await openDatastore({ endpoint: secure.endpoints[0], dataDir: dir, caFile: certs.ca, certFile: certs.client, keyFile: certs.clientKey });
    try {
      const created = await store.create('/registry/core/secrets/default/s', '{}');
      assert.equal((await store.get('/registry/core/secrets/default/s'))?.modRevision, created.modRevision);
    } finally {
      await store.close();
    }
  });

  it('refuses endpoints it cannot use, and half a client certificate', async () => {
    await assert.rejects(openDatastore({ endpoint: 'postgres://db', dataDir: dir }), /expected sqlite:\/\/PATH or etcd client URLs/);
    await assert.rejects(openDatastore({ endpoint: secure.endpoints[0], dataDir: dir, caFile: certs.ca, certFile: certs.client }), /go together/);
    await assert.rejects(openDatastore({ endpoint: secure.endpoints[0], dataDir: dir, caFile: join(dir, 'missing.crt') }), /--datastore-cafile .*missing\.crt/);
  });
});
