// `npm run bench:network`: the data paths of service networking.
//   dns   queries/s for service names through skiff's cluster DNS (dns.ts),
//         beside CoreDNS's published figure. Loopback, no node.
//   http  requests/s and p99 latency to 2 busybox httpd pods through a
//         ClusterIP Service and through the Ingress, each beside direct
//         pod-IP access in the same run (http.ts, http-run.ts): a real node
//         in a test host (a netns this bench makes, ARCHITECTURE.md §7), a new
//         connection per request on every path. Needs root, runc, umoci,
//         busybox-static; ClusterIP is set beside kube-proxy's ≈96 % of direct.
// The proxy's rule-sync time for 1k/10k Services is `npm run bench:proxy-sync`.
// Prints one JSON line per measurement on stdout (ARCHITECTURE.md §10),
// progress on stderr. Environment:
//   BENCH_NETWORK_PARTS     comma-separated parts to run (default: all)
//   BENCH_DNS_SERVICES      services in the zone (default 1000)
//   BENCH_DNS_SECONDS       bound on the query load (default 10)
//   BENCH_HTTP_SECONDS      load per path and round, 2 rounds (default 10)
//   BENCH_HTTP_CONCURRENCY  requests in flight (default 8)
//   BENCH_TIMEOUT_S         bound on the whole run (default 600; the http
//                           part's inside half reads it too)
// Network: loopback, or addresses inside the test host; every loop is bounded
// in count and time. Cleanup (server, `skiff cleanup`, test host) on every
// exit path, SIGINT/SIGTERM included.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupSync, installSignalHandlers, trackDir } from './lib/cleanup.ts';
import { Deadline, envNumber, machineDescription } from './lib/env.ts';
import { dnsQueriesPerSecond } from './network/dns.ts';
import { httpThroughput } from './network/http.ts';

const DEADLINE = new Deadline(envNumber('BENCH_TIMEOUT_S', 600));
const log = (message: string) => process.stderr.write(`bench:network ${message}\n`);

type Part = (tempRoot: string) => Promise<object[]>;

const PARTS: Record<string, Part> = {
  dns: (tempRoot) => dnsQueriesPerSecond({
    dataDir: join(tempRoot, 'dns'),
    services: envNumber('BENCH_DNS_SERVICES', 1000),
    queries: 2_000_000,
    durationMs: envNumber('BENCH_DNS_SECONDS', 10) * 1000,
    inFlight: 64,
    deadline: DEADLINE,
    log,
  }),
  http: () => httpThroughput({ log }),
};

async function main(): Promise<void> {
  installSignalHandlers(log);
  const selected = (process.env.BENCH_NETWORK_PARTS ?? Object.keys(PARTS).join(',')).split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = selected.filter((p) => !PARTS[p]);
  if (unknown.length) throw new Error(`BENCH_NETWORK_PARTS: unknown part(s) ${unknown.join(', ')}; known: ${Object.keys(PARTS).join(', ')}`);
  const tempRoot = mkdtempSync(join(tmpdir(), 'skiff-bench-network-'));
  trackDir(tempRoot);
  log(`machine: ${machineDescription()}`);
  try {
    for (const part of selected) {
      for (const line of await PARTS[part](tempRoot)) process.stdout.write(JSON.stringify(line) + '\n');
    }
  } finally {
    cleanupSync();
  }
}

await main();
