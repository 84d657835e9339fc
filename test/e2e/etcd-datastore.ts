// Runs the e2e suite against etcd: with SKIFF_E2E_DATASTORE=etcd, every server
// the harness starts gets its own real etcd (one member on free loopback
// ports, data in DATA/etcd so a restarted server finds its state again),
// stopped with the server.
import { join } from 'node:path';
import { startEtcd } from '../../src/storage/etcd/launcher.ts';

export interface E2eDatastore {
  /** Extra `skiff server` arguments. */
  args: string[];
  stop(): Promise<void>;
}

export function e2eDatastoreKind(): 'sqlite' | 'etcd' {
  const kind = process.env.SKIFF_E2E_DATASTORE ?? 'sqlite';
  if (kind !== 'sqlite' && kind !== 'etcd') throw new Error(`SKIFF_E2E_DATASTORE=${kind}: expected sqlite or etcd`);
  return kind;
}

/** The datastore for one server, or undefined for the default embedded sqlite. */
export async function startE2eDatastore(dataDir: string): Promise<E2eDatastore | undefined> {
  if (e2eDatastoreKind() !== 'etcd') return undefined;
  const etcd = await startEtcd({ dataDir: join(dataDir, 'etcd') });
  return { args: ['--datastore-endpoint', etcd.endpoints.join(',')], stop: () => etcd.stop() };
}
