// etcd leases for keys that expire by themselves (Events, upstream's 1 h
// --event-ttl). Granting a lease per write would cost a round trip and a lease
// object each, so writes within a short window share one lease whose TTL is
// stretched by that window (as kube-apiserver's lease manager does): a key
// lives at least its TTL and at most TTL + window.
import type { EtcdConnection } from './connection.ts';

/** Share a lease for this fraction of the TTL, at most REUSE_MAX_MS. */
const REUSE_FRACTION = 0.05;
const REUSE_MAX_MS = 60_000;

interface SharedLease {
  id: string;
  ttlSeconds: number;
  expiresAt: number;
}

export class LeaseManager {
  readonly #connection: EtcdConnection;
  /** The lease currently handed out, per requested TTL. */
  readonly #current = new Map<number, Promise<SharedLease>>();

  constructor(connection: EtcdConnection) {
    this.#connection = connection;
  }

  /** A lease id under which a key lives at least `ttlSeconds`. */
  async leaseFor(ttlSeconds: number): Promise<string> {
    const now = Date.now();
    const pending = this.#current.get(ttlSeconds);
    if (pending) {
      const lease = await pending.catch(() => undefined);
      // Still usable if it outlives the requested TTL from now.
      if (lease && lease.expiresAt - now >= ttlSeconds * 1000) return lease.id;
    }
    const window = Math.min(ttlSeconds * 1000 * REUSE_FRACTION, REUSE_MAX_MS);
    const grantedTtl = ttlSeconds + Math.ceil(window / 1000);
    const grant = this.#connection
      .call('lease grant', 'idempotent', (options) => this.#connection.client.leaseClient.leaseGrant({ TTL: grantedTtl }, options))
      .then((response) => ({ id: response.ID, ttlSeconds: grantedTtl, expiresAt: now + Number(response.TTL) * 1000 }));
    this.#current.set(ttlSeconds, grant);
    grant.catch(() => {
      if (this.#current.get(ttlSeconds) === grant) this.#current.delete(ttlSeconds);
    });
    return (await grant).id;
  }
}
