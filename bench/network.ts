// `npm run bench:network`: the data paths of service networking.
//   dns   queries/s for service names through skiff's cluster DNS (dns.ts),
//         beside CoreDNS's published figure.
// Prints one JSON line per measurement on stdout (ARCHITECTURE.md §10),
// progress on stderr. Environment:
//   BENCH_NETWORK_PARTS  comma-separated parts to run (default: all)
//   BENCH_DNS_SERVICES   services in the zone (default 1000)
//   BENCH_DNS_SECONDS    bound on the query load (default 10)
//   BENCH_TIMEOUT_S      bound on the whole run (default 600)
// Network: loopback only; every loop is bounded in count and time.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupSync, installSignalHandlers, trackDir } from './lib/cleanup.ts';
import { Deadline, envNumber, machineDescription } from './lib/env.ts';
import { dnsQueriesPerSecond } from './network/dns.ts';

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
