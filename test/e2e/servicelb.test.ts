// The load-balancer status controller through `skiff server` with hollow
// nodes: a LoadBalancer Service gets the nodes' addresses as EXTERNAL-IP
// (kubectl get svc), follows a node that goes away, and another class's
// Service stays <pending>. No traffic is sent anywhere.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

describe('servicelb: LoadBalancer status with simulated nodes', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '2'] });
    await eventually(() => (server.k(['get', 'nodes', '-o', 'name']).trim().split('\n').length === 2 ? true : undefined));
  });
  after(async () => server?.stop());

  it('shows the nodes\' addresses as EXTERNAL-IP, with node ports and upstream\'s events', async () => {
    server.k(['create', 'service', 'loadbalancer', 'web', '--tcp=80:8080']);
    const line = await eventually(() => {
      const row = server.k(['get', 'svc', 'web', '-o', 'wide', '--no-headers']);
      return row.includes('172.31.0.1,172.31.0.2') ? row : undefined;
    }, { timeoutMs: 20_000 });
    assert.match(line ?? '', /^web\s+LoadBalancer\s+10\.43\.\d+\.\d+\s+172\.31\.0\.1,172\.31\.0\.2\s+80:3\d{4}\/TCP\s/);
    // Server-side Tables are printed wide upstream too: the whole list, not clipped.
    assert.match(server.k(['get', 'svc', 'web', '--no-headers']), /^web\s+LoadBalancer\s+\S+\s+172\.31\.0\.1,172\.31\.0\.2\s+80:3\d{4}\/TCP/);
    const svc = JSON.parse(server.k(['get', 'svc', 'web', '-o', 'json']));
    assert.deepEqual(svc.status.loadBalancer.ingress, [{ ip: '172.31.0.1', ipMode: 'VIP' }, { ip: '172.31.0.2', ipMode: 'VIP' }]);
    const reasons = await eventually(() => {
      const events = server.k(['get', 'events', '--field-selector', 'involvedObject.name=web', '-o', 'jsonpath={.items[*].reason}']);
      return events.includes('EnsuredLoadBalancer') ? events : undefined;
    });
    assert.match(reasons ?? '', /EnsuringLoadBalancer/);
  });

  it('drops a node that is deleted, and leaves a Service of another load-balancer class <pending>', async () => {
    server.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1', kind: 'Service', metadata: { name: 'foreign' },
        spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/other', ports: [{ port: 80 }] },
      }),
    });
    server.k(['delete', 'node', 'sim-1']);
    await eventually(() => (/^web\s+LoadBalancer\s+\S+\s+172\.31\.0\.1\s/m.test(server.k(['get', 'svc', 'web', '--no-headers'])) ? true : undefined), { timeoutMs: 20_000 });
    assert.match(server.k(['get', 'svc', 'foreign', '--no-headers']), /^foreign\s+LoadBalancer\s+\S+\s+<pending>\s/);
  });
});
