// How the Store's keys, values and revisions map onto etcd's.
//
// Keys: the etcd key is `keyPrefix + key` in UTF-8. The API server already
// builds upstream's layout (`/registry/<resource>/<namespace>/<name>`), so with
// the default empty keyPrefix etcd holds exactly the keys kube-apiserver would;
// a keyPrefix lets several clusters (or tests) share one etcd. Both sides order
// keys by UTF-8 bytes, so ranges and paging agree with the other backends.
//
// Revisions: an empty etcd is at revision 1 and its first write gets 2, while
// the Store contract starts empty at 0 with the first write at 1. So a store
// revision is the etcd revision minus one, everywhere (reads, writes, watch,
// compaction). The offset is fixed, so every server on the same etcd agrees.
import type { IKeyValue } from 'etcd3';
import type { KeyValue } from '../interface.ts';

const REVISION_OFFSET = 1;

export const toStoreRevision = (etcdRevision: string | number): number => Number(etcdRevision) - REVISION_OFFSET;
export const toEtcdRevision = (storeRevision: number): number => storeRevision + REVISION_OFFSET;

/** A key range in etcd's terms: [key, range_end). */
export interface EtcdRange {
  key: Buffer;
  range_end: Buffer;
}

/** The zero byte: as range_end it means "to the end of the keyspace". */
const ALL = Buffer.from([0]);

export class KeyCodec {
  readonly #prefix: string;
  readonly #prefixLength: number;

  constructor(keyPrefix: string) {
    this.#prefix = keyPrefix;
    this.#prefixLength = keyPrefix.length;
  }

  encode(key: string): Buffer {
    return Buffer.from(this.#prefix + key, 'utf8');
  }

  decode(key: Buffer): string {
    return key.toString('utf8').slice(this.#prefixLength);
  }

  /** Every key starting with `prefix`, optionally only those after `after`. */
  range(prefix: string, after?: string): EtcdRange {
    const encoded = this.encode(prefix);
    const end = prefixEnd(encoded);
    // etcd reads an empty key as "no key given": the whole keyspace starts at the zero byte.
    const start = encoded.length > 0 ? encoded : ALL;
    if (after === undefined) return { key: start, range_end: end };
    // Strictly after: the smallest key greater than `after` is `after` + NUL.
    const afterKey = Buffer.concat([this.encode(after), ALL]);
    return { key: Buffer.compare(afterKey, start) > 0 ? afterKey : start, range_end: end };
  }

  value(kv: IKeyValue, modRevision?: number): KeyValue {
    return {
      key: this.decode(kv.key),
      value: kv.value.toString('utf8'),
      createRevision: toStoreRevision(kv.create_revision),
      modRevision: modRevision ?? toStoreRevision(kv.mod_revision),
    };
  }
}

/**
 * The first key after every key that starts with `prefix` (byte order):
 * the prefix with its last byte below 0xff incremented and what follows it
 * dropped; all keys when there is no such byte (empty prefix).
 */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i] = prefix[i]! + 1;
      return end;
    }
  }
  return ALL;
}
