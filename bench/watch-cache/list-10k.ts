// Ad-hoc measurement of the watch cache (src/storage/cacher/README.md), not an npm benchmark:
//   node bench/watch-cache/FILE.ts   (N=10000 by default where it applies)
// Ad-hoc: LIST of 10k pods through ResourceStore, from sqlite vs from the watch cache.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinKinds } from '../../src/api/registry.ts';
import { ResourceStore, initializeObjectMeta, type KubeObject } from '../../src/apiserver/registry/resource-store.ts';
import { createApiWatchCache } from '../../src/apiserver/registry/watch-cache.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';

const N = Number(process.env.N ?? 10000);
const registry = builtinKinds();
const pods = registry.lookup('', 'v1', 'pods')!;
const dir = mkdtempSync(join(tmpdir(), 'wc-bench-'));
const sqlite = openSqliteStore({ path: join(dir, 'state.db'), compactIntervalMs: 0 });
const direct = new ResourceStore(sqlite);
function pod(i: number): KubeObject {
  const o: KubeObject = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `web-${i}`, namespace: `ns-${i % 10}`, labels: { app: `app-${i % 50}`, 'pod-template-hash': 'abcdef1234' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abcdef1234', uid: '0f6a4c1e-2b1d-4b7e-9a55-3a1c2f0d9e11', controller: true, blockOwnerDeletion: true }] },
    spec: { nodeName: `node-${i % 100}`, containers: [{ name: 'web', image: 'registry.example/web:1.2.3', ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '100m', memory: '128Mi' } }, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }], restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] },
    status: { phase: 'Running', podIP: `10.42.${(i >> 8) & 255}.${i & 255}`, hostIP: '192.0.2.10', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-22T05:00:00Z' }], containerStatuses: [{ name: 'web', ready: true, restartCount: 0, image: 'registry.example/web:1.2.3', imageID: 'sha256:0123456789abcdef', containerID: 'runc://0123456789abcdef', started: true, state: { running: { startedAt: '2026-11-22T05:00:00Z' } } }] },
  };
  initializeObjectMeta(o.metadata);
  return o;
}
for (let i = 0; i < N; i++) await direct.create(pods, pod(i));
const cache = await createApiWatchCache(sqlite, registry);
const cached = new ResourceStore(cache);
await cached.list(pods, {}); // load
const bytes = JSON.stringify((await direct.list(pods, {})).items).length;

async function time(label: string, run: () => Promise<unknown>, rounds = 7) {
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    await run();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  console.log(`${label.padEnd(58)} median ${ms[rounds >> 1]!.toFixed(1)} ms  min ${ms[0]!.toFixed(1)} ms`);
}
console.log(`${N} pods, ${(bytes / 1e6).toFixed(1)} MB of JSON`);
await time('sqlite: store.list (raw rows)', () => sqlite.list({ prefix: '/registry/core/pods/' }));
await time('cache:  store.list (raw, consistent)', () => cache.list({ prefix: '/registry/core/pods/' }));
await time('sqlite: ResourceStore.list all (decoded)', () => direct.list(pods, {}));
await time('cache:  ResourceStore.list all, consistent (rv unset)', () => cached.list(pods, {}));
await time('cache:  ResourceStore.list all, rv=0', () => cached.list(pods, { resourceVersion: '0' }));
const node = (o: KubeObject) => (o.spec as { nodeName?: string }).nodeName === 'node-7';
await time('sqlite: pods of one node (fieldSelector, 100 of 10k)', () => direct.list(pods, { filter: node }));
await time('cache:  pods of one node via spec.nodeName index', () => cached.list(pods, { filter: node, index: { name: 'spec.nodeName', value: 'node-7' } }));
await time('sqlite: list limit=500 (first page)', () => direct.list(pods, { limit: 500 }));
await time('cache:  list limit=500 (first page)', () => cached.list(pods, { limit: 500 }));
await cache.close();
await sqlite.close();
rmSync(dir, { recursive: true, force: true });
