// `kubectl create …` generators (protobuf request bodies) and `kubectl get`
// in every output format, with selectors, all namespaces and watch.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { KUBECTL, eventually, startServer, type ServerHandle } from './harness.ts';

describe('kubectl create and get', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ apiOnly: true });
  });
  after(async () => server?.stop());

  it('creates objects with the protobuf-speaking generators', () => {
    assert.match(server.k(['create', 'namespace', 'shop']), /namespace\/shop created/);
    assert.match(server.k(['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=3', '-n', 'shop']), /deployment.apps\/web created/);
    assert.match(server.k(['create', 'configmap', 'settings', '--from-literal=mode=fast', '--from-literal=level=3', '-n', 'shop']), /configmap\/settings created/);
    assert.match(server.k(['create', 'secret', 'generic', 'creds', '--from-literal=password=s3cr3t', '-n', 'shop']), /secret\/creds created/);
    assert.match(server.k(['create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', 'shop']), /service\/web created/);
    assert.match(server.k(['create', 'job', 'migrate', '--image=busybox', '-n', 'shop', '--', 'echo', 'hi']), /job.batch\/migrate created/);

    const deploy = JSON.parse(server.k(['get', 'deployment', 'web', '-n', 'shop', '-o', 'json']));
    assert.equal(deploy.spec.replicas, 3);
    assert.equal(deploy.spec.template.spec.containers[0].image, 'nginx:1.27');
    assert.deepEqual(deploy.spec.selector.matchLabels, { app: 'web' });
    assert.equal(deploy.spec.strategy.type, 'RollingUpdate');
    assert.equal(deploy.spec.strategy.rollingUpdate.maxSurge, '25%');
    assert.equal(deploy.metadata.generation, 1);
    assert.match(deploy.metadata.uid, /^[0-9a-f-]{36}$/);

    const secret = JSON.parse(server.k(['get', 'secret', 'creds', '-n', 'shop', '-o', 'json']));
    assert.equal(Buffer.from(secret.data.password, 'base64').toString(), 's3cr3t');
    assert.equal(secret.type, 'Opaque');
    const svc = JSON.parse(server.k(['get', 'svc', 'web', '-n', 'shop', '-o', 'json']));
    assert.match(svc.spec.clusterIP, /^10\.43\.\d+\.\d+$/);
    assert.equal(svc.spec.ports[0].targetPort, 8080);
    const job = JSON.parse(server.k(['get', 'job', 'migrate', '-n', 'shop', '-o', 'json']));
    assert.deepEqual(job.spec.template.spec.containers[0].command, ['echo', 'hi']);
    assert.ok(job.spec.selector.matchLabels['batch.kubernetes.io/controller-uid']);
  });

  it('creates every other kind kubectl has a generator for', () => {
    const commands = [
      ['create', 'cronjob', 'nightly', '--image=busybox', '--schedule=*/5 * * * *', '--', 'echo', 'hi'],
      ['create', 'role', 'reader', '--verb=get', '--resource=pods'],
      ['create', 'rolebinding', 'reader', '--role=reader', '--user=bob'],
      ['create', 'clusterrole', 'node-reader', '--verb=get', '--resource=nodes'],
      ['create', 'clusterrolebinding', 'node-reader', '--clusterrole=node-reader', '--group=ops'],
      ['create', 'quota', 'small', '--hard=pods=10,requests.cpu=2'],
      ['create', 'priorityclass', 'high', '--value=1000', '--description=important'],
      ['create', 'poddisruptionbudget', 'keep-one', '--selector=app=web', '--min-available=1'],
      ['create', 'ingress', 'front', '--rule=shop.example/api*=web:80'],
      ['create', 'secret', 'docker-registry', 'pull', '--docker-server=registry.example', '--docker-username=u', '--docker-password=p'],
      ['create', 'serviceaccount', 'robot'],
      ['create', 'service', 'nodeport', 'edge', '--tcp=80:8080'],
      ['create', 'service', 'externalname', 'legacy', '--external-name=db.example'],
    ];
    for (const command of commands) assert.match(server.k(['-n', 'shop', ...command]), / created$/m, command.join(' '));
    const cron = JSON.parse(server.k(['get', 'cronjob', 'nightly', '-n', 'shop', '-o', 'json']));
    assert.equal(cron.spec.schedule, '*/5 * * * *');
    assert.equal(cron.spec.concurrencyPolicy, 'Allow');
    const edge = JSON.parse(server.k(['get', 'svc', 'edge', '-n', 'shop', '-o', 'json']));
    assert.ok(edge.spec.ports[0].nodePort >= 30000 && edge.spec.ports[0].nodePort <= 32767);
    assert.equal(JSON.parse(server.k(['get', 'svc', 'legacy', '-n', 'shop', '-o', 'json'])).spec.clusterIP, undefined);
    assert.match(server.k(['auth', 'can-i', 'create', 'pods', '-n', 'shop']), /^yes$/m);
  });

  it('prints the upstream Table columns', () => {
    const deployments = server.k(['get', 'deployments', '-n', 'shop']);
    assert.match(deployments, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
    assert.match(deployments, /^web\s+0\/3\s+0\s+0\s+\d+s$/m);
    const wide = server.k(['get', 'deployments', '-n', 'shop', '-o', 'wide']);
    assert.match(wide, /CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide, /nginx\s+nginx:1\.27\s+app=web/);
    assert.match(server.k(['get', 'svc', '-n', 'shop']), /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
    assert.match(server.k(['get', 'cm', '-n', 'shop']), /^settings\s+2\s+/m);
    assert.match(server.k(['get', 'ns']), /^kube-system\s+Active\s+/m);
  });

  it('supports yaml, jsonpath and custom-columns output', () => {
    assert.match(server.k(['get', 'cm', 'settings', '-n', 'shop', '-o', 'yaml']), /^ {2}mode: fast$/m);
    assert.equal(server.k(['get', 'deploy', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), 'nginx:1.27');
    const columns = server.k(['get', 'deploy', '-n', 'shop', '-o', 'custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas']);
    assert.match(columns, /^web\s+3$/m);
  });

  it('filters with label and field selectors and across namespaces', () => {
    server.k(['create', 'configmap', 'other', '--from-literal=a=b', '-n', 'default']);
    server.k(['label', 'configmap', 'other', 'tier=backend', '-n', 'default']);
    server.k(['label', 'configmap', 'settings', 'tier=frontend', '-n', 'shop']);
    const all = server.k(['get', 'configmaps', '-A', '-l', 'tier', '-o', 'name']);
    assert.deepEqual(all.trim().split('\n').sort(), ['configmap/other', 'configmap/settings']);
    assert.equal(server.k(['get', 'cm', '-A', '-l', 'tier in (frontend)', '-o', 'name']).trim(), 'configmap/settings');
    assert.equal(server.k(['get', 'cm', '-A', '-l', 'tier!=frontend,tier', '-o', 'name']).trim(), 'configmap/other');
    assert.equal(server.k(['get', 'cm', '-A', '--field-selector', 'metadata.namespace=shop,metadata.name=settings', '-o', 'name']).trim(), 'configmap/settings');
    const bad = server.kubectl(['get', 'pods', '--field-selector', 'spec.bogus=1']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /field label not supported: spec.bogus/);
    const allNs = server.k(['get', 'cm', '-A']);
    assert.match(allNs, /^NAMESPACE\s+NAME\s+DATA\s+AGE$/m);
  });

  it('streams updates with get -w', async () => {
    const watcher = spawn(KUBECTL, ['--kubeconfig', server.kubeconfig, 'get', 'configmap', 'settings', '-n', 'shop', '-w', '-o', 'jsonpath={.data.mode}{"\\n"}'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    watcher.stdout.on('data', (d) => (seen += d));
    try {
      await eventually(() => seen.includes('fast'), { timeoutMs: 15_000 });
      server.k(['patch', 'configmap', 'settings', '-n', 'shop', '--type', 'merge', '-p', '{"data":{"mode":"slow"}}']);
      await eventually(() => seen.includes('slow'), { timeoutMs: 15_000 });
    } finally {
      watcher.kill();
    }
  });
});
