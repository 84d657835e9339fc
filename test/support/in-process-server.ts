// A real API server in the test's own process (memory store, loopback port,
// fresh PKI in a temp dir), for tests of API clients: components talk to it
// over HTTPS exactly as they talk to `skiff server`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClusterPki } from '../../src/apiserver/auth/pki.ts';
import { startApiServer } from '../../src/apiserver/server.ts';
import { createMemoryStore } from '../../src/storage/memory/memory-store.ts';

export interface InProcessServer {
  /** https://127.0.0.1:PORT */
  url: string;
  caCert: string;
  /** The admin bearer token. */
  token: string;
  close(): Promise<void>;
}

export async function startInProcessServer(): Promise<InProcessServer> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-inproc-'));
  const pki = await ensureClusterPki({ dir: join(dir, 'tls'), hostnames: [], ipAddresses: [] });
  const store = createMemoryStore();
  const server = await startApiServer({ store, pki, port: 0, bindAddress: '127.0.0.1', advertiseAddress: '127.0.0.1' });
  return {
    url: `https://127.0.0.1:${server.port}`,
    caCert: pki.caCert,
    token: pki.adminToken,
    async close() {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
