// The node's half of the built-in local-path provisioner. The control plane
// (src/controllers/persistentvolume/provisioner.ts) creates a hostPath PV
// under a storage root (default /var/lib/skiff/storage/<pv-name>) pinned to
// the node, and deletes the PV object when its claim goes and the reclaim
// policy is Delete. The directory lives on the node, so the node removes it:
// a sweep deletes `pvc-*` directories under the storage roots that no
// PersistentVolume names any more and no pod on this node uses. Level-based,
// so a missed deletion is caught by the next sweep; directories of existing
// PVs (Retain policy included) are never touched.
import { readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ApiClient, KubeObject } from '../../client/interface.ts';

export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';
export const DEFAULT_LOCAL_PATH_ROOT = '/var/lib/skiff/storage';

interface PersistentVolumeLike extends KubeObject {
  spec?: { hostPath?: { path?: string }; local?: { path?: string } };
}

export interface LocalPathReclaimerOptions {
  client: ApiClient;
  roots: readonly string[];
  /** Host paths of persistent volumes that pods on this node have set up. */
  inUse: () => ReadonlySet<string>;
}

export class LocalPathReclaimer {
  private readonly client: ApiClient;
  private readonly roots = new Set<string>();
  private readonly inUse: () => ReadonlySet<string>;

  constructor(options: LocalPathReclaimerOptions) {
    this.client = options.client;
    for (const root of options.roots) this.roots.add(root);
    this.inUse = options.inUse;
  }

  /** Remember the storage root of a local-path volume this node set up (a class may name its own `nodePath`). */
  noteVolumePath(path: string): void {
    this.roots.add(dirname(path));
  }

  /** Remove orphaned local-path directories; returns the paths removed. */
  async sweep(): Promise<string[]> {
    const candidates: string[] = [];
    for (const root of this.roots) {
      let names: string[];
      try {
        names = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name.startsWith('pvc-')).map((e) => e.name);
      } catch {
        continue;
      }
      candidates.push(...names.map((name) => join(root, name)));
    }
    if (candidates.length === 0) return [];
    // Listed after the directories: a PV that made a directory existed before it, so one missing now is gone.
    const volumes = await this.client.list<PersistentVolumeLike>({ group: '', version: 'v1', resource: 'persistentvolumes' });
    const named = new Set(volumes.items.flatMap((pv) => [pv.spec?.hostPath?.path, pv.spec?.local?.path]).filter((p): p is string => !!p).map((p) => resolve(p)));
    const used = this.inUse();
    const removed: string[] = [];
    for (const path of candidates) {
      if (named.has(path) || used.has(path)) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
    return removed;
  }
}
