// Ad-hoc measurement of the watch cache (src/storage/cacher/README.md), not an npm benchmark:
//   node bench/watch-cache/FILE.ts   (N=10000 by default where it applies)
// Ad-hoc: 2000 node watchers, 10k pod creates: dispatch by spec.nodeName index vs every watcher gets every event.
import { createMemoryStore } from '../../src/storage/memory/memory-store.ts';
import { createCachedStore } from '../../src/storage/cacher/cached-store.ts';
import type { KeyValue } from '../../src/storage/interface.ts';
const PODS = '/registry/core/pods/';
const NODES = 2000, PODS_N = 10000;
for (const indexed of [true, false]) {
  const backend = createMemoryStore();
  const store = await createCachedStore(backend, {
    resourcePrefixOf: (p) => p.startsWith(PODS) ? PODS : undefined,
    indexersFor: () => [{ name: 'spec.nodeName', values: (kv: KeyValue) => [JSON.parse(kv.value).spec.nodeName ?? ''] }],
    preload: [PODS],
  });
  const from = await store.currentRevision();
  let delivered = 0;
  const watches = Array.from({ length: NODES }, (_, n) => store.watch({ prefix: PODS, fromRevision: from, index: indexed ? { name: 'spec.nodeName', value: `node-${n}` } : undefined }));
  const drains = watches.map(async (w) => { for await (const e of w.events) { if (JSON.parse(e.kv.value).spec.nodeName === e.kv.key) delivered--; delivered++; } });
  const t = process.hrtime.bigint();
  for (let i = 0; i < PODS_N; i++) await store.create(`${PODS}default/p${i}`, JSON.stringify({ metadata: { name: `p${i}` }, spec: { nodeName: `node-${i % NODES}` } }));
  await store.list({ prefix: PODS }); // cache caught up
  while (delivered < (indexed ? PODS_N : PODS_N * NODES)) await new Promise((r) => setImmediate(r));
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(`${indexed ? 'indexed  ' : 'unindexed'}: ${PODS_N} creates to ${NODES} node watchers: ${ms.toFixed(0)} ms, ${delivered} deliveries (each checked by the receiver)`);
  for (const w of watches) w.stop();
  await Promise.all(drains);
  await store.close();
}
