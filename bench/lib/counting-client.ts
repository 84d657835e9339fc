// An ApiClient wrapper that counts every call per verb and per resource, so a
// benchmark can say how many API requests the components under test made.
import type { ApiClient, ResourceRef } from '../../src/client/interface.ts';

export const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] as const;
export type Verb = typeof VERBS[number];
export const WRITE_VERBS: readonly Verb[] = ['create', 'update', 'patch', 'delete', 'deletecollection'];

/** Calls per verb, and per verb + resource[/subresource] ("update pods", "update replicasets/status"). */
const keyOf = (verb: Verb, ref: ResourceRef) => `${verb} ${ref.resource}${ref.subresource ? `/${ref.subresource}` : ''}`;

export class Counts {
  readonly byVerb = new Map<Verb, number>(VERBS.map((v) => [v, 0]));
  readonly byKey = new Map<string, number>();
  errors = 0;
  /** Failed calls by "verb resource: HTTP code". */
  readonly errorsByKey = new Map<string, number>();

  add(verb: Verb, ref: ResourceRef): void {
    this.byVerb.set(verb, this.byVerb.get(verb)! + 1);
    const key = keyOf(verb, ref);
    this.byKey.set(key, (this.byKey.get(key) ?? 0) + 1);
  }

  fail(verb: Verb, ref: ResourceRef, error: unknown): void {
    this.errors++;
    const key = `${keyOf(verb, ref)}: ${(error as { code?: unknown })?.code ?? 'error'}`;
    this.errorsByKey.set(key, (this.errorsByKey.get(key) ?? 0) + 1);
  }

  snapshot(): Snapshot {
    return { byVerb: new Map(this.byVerb), byKey: new Map(this.byKey), errors: this.errors, errorsByKey: new Map(this.errorsByKey) };
  }
}

export interface Snapshot {
  byVerb: Map<Verb, number>;
  byKey: Map<string, number>;
  errors: number;
  errorsByKey: Map<string, number>;
}

/** later − earlier, per verb and per key (keys with 0 dropped). */
export function diff(later: Snapshot, earlier: Snapshot): Snapshot {
  const byVerb = new Map<Verb, number>(VERBS.map((v) => [v, later.byVerb.get(v)! - earlier.byVerb.get(v)!]));
  const byKey = new Map<string, number>();
  for (const [k, n] of later.byKey) {
    const d = n - (earlier.byKey.get(k) ?? 0);
    if (d > 0) byKey.set(k, d);
  }
  const errorsByKey = new Map<string, number>();
  for (const [k, n] of later.errorsByKey) {
    const d = n - (earlier.errorsByKey.get(k) ?? 0);
    if (d > 0) errorsByKey.set(k, d);
  }
  return { byVerb, byKey, errors: later.errors - earlier.errors, errorsByKey };
}

export const total = (s: Snapshot, verbs: readonly Verb[] = VERBS) => verbs.reduce((sum, v) => sum + s.byVerb.get(v)!, 0);

/** An ApiClient that counts every call (a watch counts once, when opened) before passing it on. */
export function countingClient(inner: ApiClient, counts: Counts): ApiClient {
  const counted = <T>(verb: Verb, ref: ResourceRef, call: () => Promise<T>): Promise<T> => {
    counts.add(verb, ref);
    return call().catch((error: unknown) => {
      counts.fail(verb, ref, error);
      throw error;
    });
  };
  return {
    get: (ref, options) => counted('get', ref, () => inner.get(ref, options)),
    list: (ref, options) => counted('list', ref, () => inner.list(ref, options)),
    watch: (ref, options) => {
      counts.add('watch', ref);
      return inner.watch(ref, options);
    },
    create: (ref, body, options) => counted('create', ref, () => inner.create(ref, body, options)),
    update: (ref, body, options) => counted('update', ref, () => inner.update(ref, body, options)),
    patch: (ref, type, patch, options) => counted('patch', ref, () => inner.patch(ref, type, patch, options)),
    delete: (ref, options) => counted('delete', ref, () => inner.delete(ref, options)),
    deleteCollection: (ref, options) => counted('deletecollection', ref, () => inner.deleteCollection(ref, options)),
    close: () => inner.close(),
  };
}
