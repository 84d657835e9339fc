// Which EndpointSlice writes the controller has made and not necessarily
// seen in its cache yet (upstream's EndpointSliceTracker). Two uses:
// - a sync that would plan from a cache missing one of our own writes is
//   refused (and retried), or it would create a second slice for the same
//   endpoints;
// - slice events that are only the echo of our own writes do not requeue
//   the Service, while changes made by others do.
// Upstream compares metadata.generation; skiff's store hands out increasing
// integer resourceVersions, so those order the writes here (opaque versions
// fall back to plain equality).
import type { EndpointSlice } from './slices.ts';

const DELETED = 'deleted';

/** `a` is a later version than `b`. */
export function isNewer(a: string | undefined, b: string | undefined): boolean {
  const x = Number(a);
  const y = Number(b);
  if (a && b && Number.isSafeInteger(x) && Number.isSafeInteger(y)) return x > y;
  return a !== b;
}

export class SliceTracker {
  /** Service key → slice uid → the resourceVersion we wrote, or DELETED. */
  private readonly services = new Map<string, Map<string, string>>();

  private slicesOf(serviceKey: string): Map<string, string> {
    let slices = this.services.get(serviceKey);
    if (!slices) this.services.set(serviceKey, slices = new Map());
    return slices;
  }

  /** We created or updated this slice (the server's answer). */
  wrote(serviceKey: string, slice: EndpointSlice): void {
    this.slicesOf(serviceKey).set(slice.metadata.uid!, slice.metadata.resourceVersion ?? '');
  }

  expectDeletion(serviceKey: string, slice: EndpointSlice): void {
    this.slicesOf(serviceKey).set(slice.metadata.uid!, DELETED);
  }

  /** True while the cached slices lack one of our writes (or still hold one we deleted). */
  stale(serviceKey: string, cached: readonly EndpointSlice[]): boolean {
    const slices = this.services.get(serviceKey);
    if (!slices) return false;
    const byUid = new Map(cached.map((s) => [s.metadata.uid, s]));
    for (const [uid, version] of slices) {
      const seen = byUid.get(uid);
      if (version === DELETED) {
        if (seen) return true;
      } else if (!seen || isNewer(version, seen.metadata.resourceVersion)) {
        return true;
      }
    }
    return false;
  }

  /** An add or update event that is not the echo of our own write. */
  shouldSync(serviceKey: string, slice: EndpointSlice): boolean {
    const version = this.services.get(serviceKey)?.get(slice.metadata.uid!);
    if (version === undefined || version === DELETED) return true;
    return isNewer(slice.metadata.resourceVersion, version);
  }

  /** A delete event: forget the slice; true when we deleted it ourselves. */
  handleDeletion(serviceKey: string, slice: EndpointSlice): boolean {
    const slices = this.services.get(serviceKey);
    const version = slices?.get(slice.metadata.uid!);
    slices?.delete(slice.metadata.uid!);
    return version === DELETED;
  }

  deleteService(serviceKey: string): void {
    this.services.delete(serviceKey);
  }
}
