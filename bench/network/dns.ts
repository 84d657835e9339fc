// bench:network, DNS part: queries per second for service names, answered by
// skiff's cluster DNS (src/proxy/dns) from informer caches over a real
// `skiff server`, with a load generator in a worker thread (dns-load.ts).
// Baseline: CoreDNS's published figure for a 2-vCPU instance (≈33k qps for
// cluster names), which this machine's 2 cores can be set beside.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRestClient, type RestClient } from '../../src/client/rest-client.ts';
import { startClusterDns, type ClusterDns } from '../../src/proxy/dns/server.ts';
import type { Deadline } from '../lib/env.ts';
import { startServer, stopServer, type Server } from '../lib/server.ts';
import { percentile, round } from '../lib/stats.ts';
import type { DnsLoadRequest, DnsLoadResult } from './dns-load.ts';

export interface DnsBenchOptions {
  dataDir: string;
  services: number;
  queries: number;
  durationMs: number;
  inFlight: number;
  deadline: Deadline;
  log: (message: string) => void;
}

const BASELINE = { name: 'CoreDNS, published: ≈33k qps for cluster names on 2 vCPU', value: 33_000 };
const NAMESPACE = 'bench-dns';

export async function dnsQueriesPerSecond(options: DnsBenchOptions): Promise<object[]> {
  let server: Server | undefined;
  let client: RestClient | undefined;
  let dns: ClusterDns | undefined;
  try {
    server = await startServer({ dataDir: options.dataDir, extraArgs: ['--controllers', ''], readyTimeoutMs: Math.min(options.deadline.left(), 60_000) });
    const tls = join(options.dataDir, 'tls');
    client = createRestClient({
      server: `https://127.0.0.1:${server.port}`, userAgent: 'bench-network/dns',
      caCert: readFileSync(join(tls, 'ca.crt'), 'utf8'), token: readFileSync(join(tls, 'admin.token'), 'utf8').trim(),
    });
    const names = await createServices(client, options);
    dns = await startClusterDns({ client, host: '127.0.0.1', port: 0, upstreams: [], logger: { warn: options.log } });
    options.log(`dns: ${options.services} services; ${options.inFlight} queries in flight for up to ${options.durationMs / 1000}s`);
    const result = await load({ port: dns.port, names, inFlight: options.inFlight, count: options.queries, durationMs: options.durationMs, timeoutMs: 1000 });
    if (result.answered === 0) throw new Error('bench:network dns: no query was answered');
    const qps = result.answered / (result.elapsedMs / 1000);
    return [{
      bench: 'network', case: `DNS/A/${options.services}Services`, metric: 'queries_per_second', value: round(qps), unit: '1/s',
      p50_ms: round(percentile(result.latenciesMs, 50)), p99_ms: round(percentile(result.latenciesMs, 99)),
      answered: result.answered, wrong_answers: result.wrong, timed_out: result.timedOut,
      baseline: BASELINE, ratio: round(qps / BASELINE.value),
    }];
  } finally {
    await dns?.close();
    await client?.close().catch(() => {});
    if (server) await stopServer(server);
  }
}

async function createServices(client: RestClient, options: DnsBenchOptions): Promise<string[]> {
  await client.create({ group: '', version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  const services = { group: '', version: 'v1', resource: 'services', namespace: NAMESPACE };
  const names: string[] = [];
  const CONCURRENCY = 16;
  for (let start = 0; start < options.services; start += CONCURRENCY) {
    options.deadline.check('creating services');
    const batch = Array.from({ length: Math.min(CONCURRENCY, options.services - start) }, (_, i) => `svc-${start + i}`);
    await Promise.all(batch.map((name) => client.create(services, {
      apiVersion: 'v1', kind: 'Service', metadata: { name },
      spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }], selector: { app: name } },
    })));
    names.push(...batch.map((name) => `${name}.${NAMESPACE}.svc.cluster.local`));
  }
  return names;
}

function load(request: DnsLoadRequest): Promise<DnsLoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./dns-load.ts', import.meta.url), { workerData: request });
    worker.once('message', (result: DnsLoadResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the DNS load worker exited with ${code}`));
    });
  });
}
