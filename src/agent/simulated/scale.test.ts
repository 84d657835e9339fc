// A quick scale check: 1000 hollow nodes register (and re-register after a
// restart) in reasonable time against the in-process server, and pods spread
// over them all start through the one shared watch. Bounds are generous
// (machines here are noisy); the measured figures are printed as diagnostics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startInProcessServer } from '../../../test/support/in-process-server.ts';
import { resources } from '../../client/interface.ts';
import { createRestClient } from '../../client/rest-client.ts';
import { startSimulatedNodes } from './index.ts';

const NODES = 1000;
const PODS = 2000;
/** Room for a /24 per node (the default /16 holds 256; more nodes get smaller ranges, with a warning). */
const CLUSTER_CIDR = '10.40.0.0/14';

describe('simulated nodes at scale', () => {
  it(`registers ${NODES} nodes and starts ${PODS} pods on them`, async (t) => {
    const server = await startInProcessServer();
    const client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
    const warnings: string[] = [];
    const warn = (message: string) => warnings.push(message);
    try {
      let began = performance.now();
      let sim = await startSimulatedNodes({ client, count: NODES, warn, clusterCidr: CLUSTER_CIDR });
      const registerMs = performance.now() - began;
      t.diagnostic(`register ${NODES} nodes: ${Math.round(registerMs)} ms`);
      assert.ok(registerMs < 60_000, `registration took ${registerMs} ms`);
      const nodes = await client.list(resources.nodes);
      assert.equal(nodes.items.length, NODES);
      const leases = await client.list({ ...resources.leases, namespace: 'kube-node-lease' });
      assert.equal(leases.items.length, NODES);

      began = performance.now();
      const limit = 32;
      for (let i = 0; i < PODS; i += limit) {
        await Promise.all(Array.from({ length: Math.min(limit, PODS - i) }, (_, j) => client.create({ ...resources.pods, namespace: 'default' }, {
          apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i + j}` },
          spec: { nodeName: `sim-${(i + j) % NODES}`, containers: [{ name: 'app', image: 'app:1' }] },
        })));
      }
      const createdMs = performance.now() - began;
      for (;;) {
        const running = (await client.list(resources.pods)).items.filter((p) => (p.status as { phase?: string }).phase === 'Running').length;
        if (running === PODS) break;
        assert.ok(performance.now() - began < 120_000, `only ${running} of ${PODS} pods Running`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      t.diagnostic(`create ${PODS} pods: ${Math.round(createdMs)} ms; all Running after ${Math.round(performance.now() - began)} ms`);

      await sim.stop();
      began = performance.now();
      sim = await startSimulatedNodes({ client, count: NODES, warn, clusterCidr: CLUSTER_CIDR });
      await sim.synced();
      t.diagnostic(`restart: re-register ${NODES} nodes and resync ${PODS} pods: ${Math.round(performance.now() - began)} ms`);
      assert.equal(sim.stats().pods.started, 0, 'running pods are left as they are');
      assert.equal(sim.stats().pods.known, PODS);
      await sim.stop();
      assert.deepEqual(warnings, []);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
