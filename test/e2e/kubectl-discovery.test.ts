// Discovery, OpenAPI and health as the real kubectl sees them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { KUBECTL, repoRoot, startServer, type ServerHandle } from './harness.ts';

const upstreamSwagger = `${repoRoot}/../shared/kubernetes-api/swagger.json`;

describe('kubectl discovery and OpenAPI', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ apiOnly: true, extraArgs: existsSync(upstreamSwagger) ? ['--openapi-descriptions', upstreamSwagger] : [] });
  });
  after(async () => server?.stop());

  it('answers readyz, version and unauthenticated requests', async () => {
    assert.equal(server.k(['get', '--raw', '/readyz']), 'ok');
    const version = JSON.parse(server.k(['version', '-o', 'json']));
    assert.equal(version.serverVersion.minor, '36');
    assert.match(version.serverVersion.gitVersion, /^v1\.36\./);
    const anonymousStatus = await rawGet(server.port, '/api/v1/namespaces');
    assert.equal(anonymousStatus.code, 401);
    assert.equal(JSON.parse(anonymousStatus.body).reason, 'Unauthorized');
    const emptyConfig = join(server.dataDir, 'empty-kubeconfig');
    writeFileSync(emptyConfig, '');
    const badToken = spawnSync(KUBECTL, ['--kubeconfig', emptyConfig, '--server', `https://127.0.0.1:${server.port}`, '--insecure-skip-tls-verify', '--token', 'not-a-valid-token', 'get', 'namespaces'], { encoding: 'utf8' });
    assert.notEqual(badToken.status, 0);
    assert.match(badToken.stderr, /Unauthorized|must be logged in/);
  });

  it('lists the GA kinds with short names in api-resources', () => {
    const out = server.k(['api-resources']);
    for (const [name, short] of [['pods', 'po'], ['deployments', 'deploy'], ['services', 'svc'], ['namespaces', 'ns'], ['cronjobs', 'cj'], ['statefulsets', 'sts'], ['persistentvolumeclaims', 'pvc'], ['horizontalpodautoscalers', 'hpa'], ['customresourcedefinitions', 'crd,crds']]) {
      assert.match(out, new RegExp(`^${name}\\s+${short}\\s`, 'm'), `${name} with ${short}`);
    }
    assert.match(out, /^leases\s+coordination.k8s.io\/v1\s+true\s+Lease$/m);
    const wide = server.k(['api-resources', '-o', 'wide']);
    assert.match(wide, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment\s+create,delete,deletecollection,get,list,patch,update,watch\s+all$/m);
    assert.match(server.k(['api-versions']), /^batch\/v1$/m);
  });

  it('explains fields from the OpenAPI v3 document', () => {
    const out = server.k(['explain', 'deployment.spec.strategy']);
    assert.match(out, /KIND:\s+Deployment/);
    assert.match(out, /rollingUpdate/);
    if (existsSync(upstreamSwagger)) assert.match(out, /DESCRIPTION:\s+\S/);
    const recursive = server.k(['explain', 'pods.spec.containers', '--recursive']);
    assert.match(recursive, /livenessProbe/);
  });
});

/** A request with no credentials at all (TLS verification off: only the status matters here). */
function rawGet(port: number, path: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
