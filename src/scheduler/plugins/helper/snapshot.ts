// The snapshot a plugin's handle holds, when there is one: plugins called
// outside a scheduling cycle (unit tests with a bare handle) fall back to
// the nodes they were given.
import type { Handle, Snapshot } from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';

export function snapshotOf(handle: Handle | undefined): Snapshot | undefined {
  if (!handle) return undefined;
  try {
    return handle.snapshot();
  } catch {
    return undefined;
  }
}

/** Size of per-node arrays: the snapshot's, or enough for `nodes`. */
export function slotCountOf(snapshot: Snapshot | undefined, nodes: readonly NodeInfo[]): number {
  if (snapshot) return snapshot.slotCount;
  let n = 0;
  for (const ni of nodes) if (ni.slot >= n) n = ni.slot + 1;
  return n;
}
