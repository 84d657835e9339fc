// The kube-dns EndpointSlice a node agent publishes, among the real
// controllers of `skiff server` (hollow nodes, no containers): the
// endpointslice controller leaves it alone (selector-less Service, another
// manager), and the garbage collector deletes it with its Node.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nodeDnsEndpointSlice } from '../../src/proxy/dns/node-dns.ts';
import { eventually, startServer, type ServerHandle } from './harness.ts';

describe('kube-dns EndpointSlices of nodes', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '2'] });
    await eventually(() => (server.kubectl(['get', 'node', 'sim-1']).status === 0 ? true : undefined));
  });
  after(async () => server?.stop());

  it('survives the endpointslice controller and goes with its Node', async () => {
    const uid = server.k(['get', 'node', 'sim-1', '-o', 'jsonpath={.metadata.uid}']).trim();
    const slice = nodeDnsEndpointSlice({ nodeName: 'sim-1', nodeUid: uid, address: '10.42.1.1', port: 53 });
    server.k(['apply', '-f', '-'], { input: JSON.stringify(slice) });
    const exists = () => server.kubectl(['get', 'endpointslice', '-n', 'kube-system', 'kube-dns-sim-1']).status === 0;
    // Touch the Service so the endpointslice controller syncs it again with the slice in its cache.
    server.k(['annotate', 'svc', '-n', 'kube-system', 'kube-dns', 'probe=1']);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.ok(exists(), 'the endpointslice controller must not delete a slice it does not manage');
    const kept = JSON.parse(server.k(['get', 'endpointslice', '-n', 'kube-system', 'kube-dns-sim-1', '-o', 'json']));
    assert.deepEqual(kept.endpoints[0].addresses, ['10.42.1.1']);

    server.k(['delete', 'node', 'sim-1']);
    await eventually(() => (exists() ? undefined : true), { timeoutMs: 30_000 });
  });
});
