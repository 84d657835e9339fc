// Reading a few policy objects (LimitRanges, ResourceQuotas, StorageClasses)
// on every write, cheaply and exactly: one ranged read of the raw keys under
// the namespace's prefix (an index range in SQLite; empty in most
// namespaces), and the decoded objects remembered per key and revision, so
// JSON is parsed once per object version however many writes read it. An
// informer-style cache would save the range read but could be stale right
// after a LimitRange or quota was written; this never is.
import type { ResourceInfo } from '../../api/registry.ts';
import type { KubeObject, ResourceStore } from '../registry/resource-store.ts';

interface Decoded {
  revision: number;
  object: KubeObject;
}

/** Decoded objects per store (a process may run several servers in tests). */
const memo = new WeakMap<ResourceStore, Map<string, Decoded>>();
/** Bound on remembered objects per store; past it the memo starts over. */
const MEMO_LIMIT = 10_000;

/**
 * The objects of `resource` in `namespace` (all of a cluster-scoped
 * resource when namespace is undefined), read at the latest revision.
 * The objects are shared: callers must not change them.
 */
export async function listPolicyObjects(store: ResourceStore, resource: ResourceInfo, namespace?: string): Promise<readonly KubeObject[]> {
  let decoded = memo.get(store);
  if (!decoded) memo.set(store, (decoded = new Map()));
  const page = await store.store.list({ prefix: store.keyPrefix(resource, namespace) });
  const out: KubeObject[] = [];
  for (const kv of page.items) {
    const hit = decoded.get(kv.key);
    if (hit && hit.revision === kv.modRevision) {
      out.push(hit.object);
      continue;
    }
    const object = store.decode(kv);
    if (decoded.size >= MEMO_LIMIT) decoded.clear();
    decoded.set(kv.key, { revision: kv.modRevision, object });
    out.push(object);
  }
  return out;
}
