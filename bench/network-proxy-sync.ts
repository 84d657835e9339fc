// `npm run bench:proxy-sync`: how long the service proxy (src/proxy/service)
// takes to sync `table ip skiff` with 1k and 10k Services (2 endpoints each):
// render (model + nft text) and apply (`nft -f -`, one transaction), inside a
// fresh network namespace this benchmark creates (test/support/test-host.ts)
// and removes — never the machine's own ruleset.
//
// Cases per size, each repeated (median reported), timed as the proxy syncs:
// build the model, render the whole desired table, then apply —
//   ColdSync     the table does not exist yet (a node joining a cluster): all of it
//   FullResync   the whole table replaced over an existing one (after a failure)
//   OneChange    one Service added to N existing ones, as the proxy does it (incremental.ts):
//                only the new service rendered, only the difference applied (delta.ts)
// Baseline "kube-proxy nftables mode sync (published)": kubernetes/kubernetes
// PR #126013 measured ~141 ms to program one new Service with 10k existing
// (2 endpoints each, kind cluster, partial sync). No published figure for 1k
// Services or for cold syncs was found: those lines carry baseline value null.
// Environment: BENCH_PROXY_SERVICES (default "1000,10000"), BENCH_PROXY_REPEATS
// (default 3), BENCH_TIMEOUT_S (default 600). Needs root (netns, nft).
import { execFileSync } from 'node:child_process';
import { cleanupSync, installSignalHandlers } from './lib/cleanup.ts';
import { Deadline, envNumber, machineDescription } from './lib/env.ts';
import { round } from './lib/stats.ts';
import { createTestHost, type TestHost } from '../test/support/test-host.ts';
import { buildModel, type EndpointSlice, type Service } from '../src/proxy/service/model.ts';
import { renderDelta } from '../src/proxy/service/delta.ts';
import { commandNftRunner, type NftRunner } from '../src/proxy/service/nft.ts';
import { renderRuleset, type RulesetState } from '../src/proxy/service/render.ts';
import { IncrementalRenderer } from '../src/proxy/service/incremental.ts';

const DEADLINE = new Deadline(envNumber('BENCH_TIMEOUT_S', 600));
const REPEATS = envNumber('BENCH_PROXY_REPEATS', 3);
const log = (message: string) => process.stderr.write(`bench:proxy-sync ${message}\n`);
const BASELINE_NAME = 'kube-proxy nftables mode sync (published)';
/** kubernetes/kubernetes#126013: one new Service with 10k existing, partial sync. */
const PUBLISHED_ONE_CHANGE_10K_MS = 141;

const octets = (i: number) => `${(i >> 8) & 255}.${i & 255}`;

const RENDER_OPTIONS = { nodeIps: ['192.0.2.10'], clusterCidr: '10.42.0.0/16' };

/** Services and their slices as informers hold them (a resourceVersion each: unchanged objects keep theirs). */
function cluster(services: number): { services: Service[]; slices: EndpointSlice[] } {
  const svcs: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    svcs.push({ metadata: { name, namespace: 'bench', resourceVersion: String(2 * i + 1) }, spec: { clusterIP: `10.43.${octets(i)}`, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    slices.push({
      metadata: { name: `${name}-1`, namespace: 'bench', resourceVersion: String(2 * i + 2), labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [0, 1].map((e) => ({ addresses: [`10.42.${(i >> 7) & 255}.${((i & 127) << 1) + e}`], conditions: { ready: true }, nodeName: e === 0 ? 'bench-node' : 'other' })),
    });
  }
  return { services: svcs, slices };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** One sync as the proxy does it: against `applied` (partial) or whole (when absent). */
async function timedSync(nft: NftRunner, data: { services: Service[]; slices: EndpointSlice[] }, applied?: RulesetState) {
  const started = performance.now();
  const model = buildModel({ services: data.services, slices: data.slices, nodeName: 'bench-node' });
  const ruleset = renderRuleset(model, RENDER_OPTIONS);
  const input = (applied && renderDelta(applied, ruleset.state)) ?? ruleset.text;
  const rendered = performance.now();
  await nft(['-f', '-'], input);
  const done = performance.now();
  return { renderMs: rendered - started, applyMs: done - rendered, totalMs: done - started, ruleset, bytes: Buffer.byteLength(input) };
}

/** A partial sync as the proxy does it: `renderer` holds the table of the last sync; only what changed is rendered. */
async function timedIncrementalSync(nft: NftRunner, data: { services: Service[]; slices: EndpointSlice[] }, renderer: IncrementalRenderer) {
  const started = performance.now();
  const update = renderer.update(data.services, data.slices);
  const input = update.delta() ?? update.fullText();
  const rendered = performance.now();
  await nft(['-f', '-'], input);
  const done = performance.now();
  const ruleset = { rules: update.rules, chains: update.chains, elements: update.elements };
  return { renderMs: rendered - started, applyMs: done - rendered, totalMs: done - started, ruleset, bytes: Buffer.byteLength(input) };
}

async function measure(host: TestHost, nft: NftRunner, size: number): Promise<object[]> {
  const data = cluster(size);
  const plusOne = cluster(size + 1);
  const cold: Awaited<ReturnType<typeof timedSync>>[] = [];
  const full: Awaited<ReturnType<typeof timedSync>>[] = [];
  const change: Awaited<ReturnType<typeof timedIncrementalSync>>[] = [];
  for (let r = 0; r < REPEATS; r++) {
    DEADLINE.check(`${size} services, repeat ${r + 1}`);
    await host.run(['nft', 'delete', 'table', 'ip', 'skiff']); // absent on the first round: that is fine
    cold.push(await timedSync(nft, data));
    full.push(await timedSync(nft, data));
    // The renderer as the proxy holds it after syncing `data` (untimed: that was the previous sync).
    const renderer = new IncrementalRenderer({ ...RENDER_OPTIONS, nodeName: 'bench-node' });
    renderer.update(data.services, data.slices);
    change.push(await timedIncrementalSync(nft, plusOne, renderer));
    log(`${size} services: cold ${Math.round(cold.at(-1)!.totalMs)} ms, full resync ${Math.round(full.at(-1)!.totalMs)} ms, one change ${Math.round(change.at(-1)!.totalMs)} ms`);
  }
  const listed = await host.run(['nft', 'list', 'map', 'ip', 'skiff', 'service-ips'], { timeoutMs: 120_000 });
  if (listed.code !== 0 || (listed.stdout.match(/ : goto service-/g) ?? []).length !== size + 1) {
    throw new Error(`the applied table does not hold ${size + 1} services: ${listed.stderr}`);
  }
  const line = (kind: string, runs: typeof change, baseline: number | null) => {
    const total = median(runs.map((x) => x.totalMs));
    const { rules, chains, elements } = runs[0]!.ruleset;
    return {
      bench: 'proxy-sync', case: `${kind}/${size}Services`, metric: 'sync_ms', value: round(total), unit: 'ms',
      render_ms: round(median(runs.map((x) => x.renderMs))), apply_ms: round(median(runs.map((x) => x.applyMs))),
      rules, chains, elements, nft_input_bytes: runs[0]!.bytes, repeats: runs.length,
      baseline: { name: BASELINE_NAME, value: baseline }, ratio: baseline ? round(total / baseline) : null,
    };
  };
  return [
    line('ColdSync', cold, null),
    line('FullResync', full, null),
    line('OneChange', change, size === 10_000 ? PUBLISHED_ONE_CHANGE_10K_MS : null),
  ];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:proxy-sync needs root (a network namespace and nft)');
  installSignalHandlers(log);
  const sizes = (process.env.BENCH_PROXY_SERVICES ?? '1000,10000').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
  log(`machine: ${machineDescription()}`);
  const host = await createTestHost({ prefix: 'skp-' });
  // Killed by a signal: the netns must not outlive the run.
  const removeNetns = () => {
    try {
      execFileSync('ip', ['netns', 'delete', host.name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  };
  process.once('exit', removeNetns);
  try {
    const nft = commandNftRunner(['nsenter', `--net=${host.netnsPath}`, '--', 'nft']);
    for (const size of sizes) {
      for (const line of await measure(host, nft, size)) process.stdout.write(JSON.stringify(line) + '\n');
    }
  } finally {
    await host.destroy();
    process.removeListener('exit', removeNetns);
    cleanupSync();
  }
}

await main();
