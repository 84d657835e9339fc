// Pausing a hollow node's heartbeats with the skiff.dev/simulated-heartbeat
// label: no lease renewals while paused; on resume the lease, the node's
// status and its pods' readiness come back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import { resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { createRestClient } from '../../client/rest-client.ts';
import { HEARTBEAT_LABEL, startSimulatedNodes, type SimulatedNodes } from './index.ts';

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Condition = { type: string; status: string; lastHeartbeatTime?: string };
const renewTime = async (client: ApiClient, name: string) =>
  ((await client.get({ ...resources.leases, namespace: 'kube-node-lease', name })).spec as { renewTime: string }).renewTime;
const conditions = (obj: KubeObject) => ((obj.status as { conditions?: Condition[] }).conditions ?? []);
const ready = (obj: KubeObject) => conditions(obj).find((c) => c.type === 'Ready');

describe('simulated heartbeat pause', () => {
  let server: InProcessServer;
  let client: ApiClient;
  let sim: SimulatedNodes;
  const warnings: string[] = [];

  before(async () => {
    server = await startInProcessServer();
    client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
    sim = await startSimulatedNodes({ client, count: 2, heartbeatIntervalMs: 100, statusIntervalMs: 60_000, warn: (m) => warnings.push(m) });
  });
  after(async () => {
    await sim?.stop();
    await client?.close();
    await server?.close();
  });

  it('stops renewing the lease of a paused node and resumes with status and pod readiness', async () => {
    await client.create({ ...resources.pods, namespace: 'default' }, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { nodeName: 'sim-1', containers: [{ name: 'app', image: 'example/app:1' }] },
    });
    const pod = await waitFor('pod running', async () => {
      const p = await client.get({ ...resources.pods, namespace: 'default', name: 'web' });
      return ready(p)?.status === 'True' ? p : undefined;
    });

    await client.patch({ ...resources.nodes, name: 'sim-1' }, 'merge', { metadata: { labels: { [HEARTBEAT_LABEL]: 'paused' } } });
    await waitFor('pause noticed', async () => warnings.some((w) => /sim-1: heartbeats paused/.test(w)));
    await sleep(300); // a beat already under way finishes
    const frozen = await renewTime(client, 'sim-1');
    const other = await renewTime(client, 'sim-0');
    await sleep(600);
    assert.equal(await renewTime(client, 'sim-1'), frozen, 'the paused node renews nothing');
    assert.notEqual(await renewTime(client, 'sim-0'), other, 'the others go on');

    // Meanwhile a node controller marks the node and its pod as it would.
    const node = await client.get({ ...resources.nodes, name: 'sim-1' });
    const unknown = conditions(node).map((c) => (c.type === 'Ready' ? { ...c, status: 'Unknown' } : c));
    await client.patch({ ...resources.nodes, name: 'sim-1', subresource: 'status' }, 'merge', { status: { conditions: unknown } });
    const notReady = conditions(pod).map((c) => (c.type === 'Ready' ? { ...c, status: 'False' } : c));
    await client.patch({ ...resources.pods, namespace: 'default', name: 'web', subresource: 'status' }, 'merge', { status: { conditions: notReady } });

    await client.patch({ ...resources.nodes, name: 'sim-1' }, 'merge', { metadata: { labels: { [HEARTBEAT_LABEL]: null } } });
    await waitFor('lease renewed', async () => (await renewTime(client, 'sim-1')) !== frozen);
    await waitFor('node Ready again', async () => ready(await client.get({ ...resources.nodes, name: 'sim-1' }))?.status === 'True');
    await waitFor('pod Ready again', async () => ready(await client.get({ ...resources.pods, namespace: 'default', name: 'web' }))?.status === 'True');
  });
});
