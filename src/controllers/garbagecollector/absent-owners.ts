// Owners verified absent, remembered so the dependents of one deleted owner
// cost one read of it, not one each (upstream's absentOwnerCache: an LRU of
// identities, which include the uid — an absent uid never comes back).
import { identityKey, type ObjectIdentity } from './identity.ts';
import type { AbsentOwners } from './graph.ts';

export class AbsentOwnerCache implements AbsentOwners {
  private readonly keys = new Set<string>();
  private readonly capacity: number;

  constructor(capacity = 500) {
    this.capacity = capacity;
  }

  add(identity: ObjectIdentity): void {
    const key = identityKey(identity);
    // Re-inserting moves the key to the young end; the oldest leave first.
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value!);
  }

  has(identity: ObjectIdentity): boolean {
    const key = identityKey(identity);
    if (!this.keys.has(key)) return false;
    this.keys.delete(key);
    this.keys.add(key);
    return true;
  }

  get size(): number {
    return this.keys.size;
  }
}
