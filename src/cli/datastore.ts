// `skiff server --datastore-endpoint`: which Store backs the API server.
//   (none)                         embedded SQLite in DATA/db/state.db
//   sqlite://PATH                  embedded SQLite at PATH
//   http(s)://HOST:PORT[,…]        an etcd v3 cluster (TLS files for https)
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../storage/interface.ts';
import { openEtcdStore } from '../storage/etcd/etcd-store.ts';
import { openSqliteStore } from '../storage/sqlite/sqlite-store.ts';

export interface DatastoreOptions {
  endpoint?: string;
  dataDir: string;
  /** PEM files for an https etcd: CA bundle, client certificate and key. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Upstream's --event-ttl default: Events expire an hour after their last write. */
const EVENT_TTL_SECONDS = 60 * 60;
const EVENT_KEY = /^\/registry\/[^/]+\/events\//;

export async function openDatastore(options: DatastoreOptions): Promise<Store> {
  const endpoint = options.endpoint;
  if (!endpoint || endpoint.startsWith('sqlite://')) {
    const path = endpoint ? endpoint.slice('sqlite://'.length) : join(options.dataDir, 'db', 'state.db');
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    return openSqliteStore({ path });
  }
  const endpoints = endpoint.split(',').map((url) => url.trim()).filter(Boolean);
  const bad = endpoints.find((url) => !/^https?:\/\/[^/]+\/?$/.test(url));
  if (bad !== undefined) {
    throw new Error(`--datastore-endpoint ${endpoint}: expected sqlite://PATH or etcd client URLs http(s)://HOST:PORT[,…] (not ${bad})`);
  }
  const read = (flag: string, path: string | undefined) => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${flag} ${path}: ${(error as Error).message}`);
    }
  };
  const tls = {
    ca: read('--datastore-cafile', options.caFile),
    cert: read('--datastore-certfile', options.certFile),
    key: read('--datastore-keyfile', options.keyFile),
  };
  if (!tls.cert !== !tls.key) throw new Error('--datastore-certfile and --datastore-keyfile go together');
  return openEtcdStore({
    endpoints,
    tls,
    ttlSeconds: (key) => (EVENT_KEY.test(key) ? EVENT_TTL_SECONDS : undefined),
  });
}
