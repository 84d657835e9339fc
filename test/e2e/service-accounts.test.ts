// Service accounts end to end: the default ServiceAccount and kube-root-ca.crt
// in new namespaces, the kube-api-access volume on pods, `kubectl create
// token`, and a pod's identity: a pod-bound token plus the published CA are
// enough to call the API (as in-cluster clients do), until the pod is deleted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, KUBECTL, startServer, type KubectlResult, type ServerHandle } from './harness.ts';

const NS = 'sa-e2e';
const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.trim().split('.')[1]!, 'base64url').toString());

describe('service accounts and the TokenRequest API', () => {
  let server: ServerHandle;
  let caCert: string;

  /** kubectl with only what a pod has: the API address, the published CA and a token (no admin credentials). */
  const kubectlAsPod = (token: string, args: string[]): KubectlResult => {
    const kubeconfig = join(server.dataDir, 'pod-kubeconfig.yaml');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: pod',
      `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${server.port}", certificate-authority-data: ${Buffer.from(caCert).toString('base64')}}}]`,
      `users: [{name: sa, user: {token: ${token.trim()}}}]`,
      'contexts: [{name: pod, context: {cluster: c, user: sa, namespace: ' + NS + '}}]', '',
    ].join('\n'));
    const r = spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(server.dataDir, 'pod-cache'), ...args], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: kubeconfig },
    });
    return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status ?? -1 };
  };

  /** GET over HTTPS trusting only the CA from kube-root-ca.crt, with a bearer token. */
  const getAsPod = (token: string, path: string): Promise<number> => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, ca: caCert, headers: { authorization: `Bearer ${token.trim()}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });

  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '1'] });
  });
  after(async () => {
    await server?.stop();
  });

  it('gives a new namespace its default ServiceAccount and the kube-root-ca.crt ConfigMap', async () => {
    server.k(['create', 'namespace', NS]);
    await eventually(() => server.kubectl(['get', 'serviceaccount', 'default', '-n', NS]).status === 0, { timeoutMs: 30_000 });
    caCert = await eventually(() => {
      const r = server.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', NS, '-o', 'jsonpath={.data.ca\\.crt}']);
      return r.status === 0 && r.stdout.includes('BEGIN CERTIFICATE') ? r.stdout : undefined;
    }, { timeoutMs: 30_000 }) as string;
    assert.match(server.k(['get', 'serviceaccount', 'default', '-n', 'kube-system', '-o', 'name']), /serviceaccount\/default/);
  });

  it('puts serviceAccountName default and the kube-api-access volume and mount on a pod created with kubectl', () => {
    server.k(['run', 'web', '-n', NS, '--image=busybox', '--', 'sleep', '3600']);
    const pod = JSON.parse(server.k(['get', 'pod', 'web', '-n', NS, '-o', 'json']));
    assert.equal(pod.spec.serviceAccountName, 'default');
    assert.equal(pod.spec.serviceAccount, 'default');
    const volume = pod.spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
    assert.match(volume.name, /^kube-api-access-[a-z0-9]{5}$/);
    assert.deepEqual(volume.projected, {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    });
    assert.deepEqual(pod.spec.containers[0].volumeMounts, [{ name: volume.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);
  });

  it('issues tokens with kubectl create token', () => {
    const plain = claimsOf(server.k(['create', 'token', 'default', '-n', NS]));
    assert.equal(plain.sub, `system:serviceaccount:${NS}:default`);
    assert.deepEqual(plain.aud, [API_AUDIENCE]);
    assert.equal(plain.exp - plain.iat, 3600);
    const custom = claimsOf(server.k(['create', 'token', 'default', '-n', NS, '--audience', 'vault', '--duration', '10m']));
    assert.deepEqual(custom.aud, ['vault']);
    assert.equal(custom.exp - custom.iat, 600);
    const short = server.kubectl(['create', 'token', 'default', '-n', NS, '--duration', '5m']);
    assert.notEqual(short.status, 0);
    assert.match(short.stderr, /may not specify a duration less than 10 minutes/);
    assert.match(server.kubectl(['create', 'token', 'nobody', '-n', NS]).stderr, /serviceaccounts "nobody" not found/);
  });

  it('lets a pod-bound token call the API until the pod is deleted', async () => {
    const podUid = server.k(['get', 'pod', 'web', '-n', NS, '-o', 'jsonpath={.metadata.uid}']);
    const token = server.k(['create', 'token', 'default', '-n', NS, '--bound-object-kind', 'Pod', '--bound-object-name', 'web', '--bound-object-uid', podUid]);
    assert.deepEqual(claimsOf(token)['kubernetes.io'].pod, { name: 'web', uid: podUid });

    const whoami = kubectlAsPod(token, ['auth', 'whoami']);
    assert.equal(whoami.status, 0, whoami.stderr);
    assert.match(whoami.stdout, new RegExp(`Username\\s+system:serviceaccount:${NS}:default`));
    assert.match(whoami.stdout, /authentication\.kubernetes\.io\/pod-name\s+\[web\]/);
    const self = kubectlAsPod(token, ['get', 'pod', 'web', '-o', 'jsonpath={.metadata.uid}']);
    assert.equal(self.status, 0, self.stderr);
    assert.equal(self.stdout, podUid);
    assert.equal(await getAsPod(token, `/api/v1/namespaces/${NS}/pods/web`), 200);
    assert.equal(await getAsPod(`${token.trim()}x`, `/api/v1/namespaces/${NS}/pods/web`), 401);

    server.k(['delete', 'pod', 'web', '-n', NS, '--wait=true', '--timeout=60s']);
    await eventually(async () => (await getAsPod(token, `/api/v1/namespaces/${NS}/pods`)) === 401, { timeoutMs: 30_000 });
    const after = kubectlAsPod(token, ['get', 'pods']);
    assert.notEqual(after.status, 0);
    assert.match(after.stderr, /Unauthorized|must be logged in/);
  });
});
