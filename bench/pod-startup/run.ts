// The inside half of `npm run bench:pod-startup`: bench/pod-startup.ts starts
// this process inside the test host's network namespace (it never runs on
// the machine's own network). Here: the busybox image imported into a fresh
// node data dir, the bare-runc baseline, a real `skiff server` with its local
// agent, the two creation phases, and the cleanup of all of it — on success,
// failure, the run's deadline, and SIGTERM/SIGINT (which the outside half
// forwards).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ImageService } from '../../src/agent/images/service.ts';
import { Deadline, envNumber, machineDescription, sleep } from '../lib/env.ts';
import { Client } from '../lib/http2-client.ts';
import { repoRoot, startCpuMeter, waitForReadyLine } from '../lib/server.ts';
import { BENCH_IMAGE, BENCH_IMAGE_REPOSITORY, buildBusyboxArchive } from './image.ts';
import { createAtRate, PodWatch, waitUntil, type PodTimes } from './pods.ts';
import { baselineLines, phaseLines, type PhaseResult } from './report.ts';
import { RuncBaseline, type RuncSample } from './runc-baseline.ts';
import { cpuSecondsWithChildren, nodeUsage } from './usage.ts';

const SCALE = envNumber('BENCH_SCALE', 1);
const PODS = Math.max(5, Math.round(100 * SCALE));
const RATE_SLOW = envNumber('BENCH_POD_RATE_SLOW', 1);
const RATE_FAST = envNumber('BENCH_POD_RATE_FAST', 10);
const RUNC_SAMPLES = Math.max(20, Math.round(40 * SCALE));
const IDLE_SECONDS = SCALE >= 1 ? 10 : 3;
const DEADLINE = new Deadline(envNumber('BENCH_TIMEOUT_S', 900));
/** After the last create, how long pods may take to become Ready before the phase reports them as not Ready. */
const READY_LIMIT_MS = 120_000;
const GONE_LIMIT_MS = 120_000;

const NODE_NAME = 'bench-node';
const NAMESPACE = 'bench-pod-startup';
const hostDir = requiredEnv('BENCH_POD_STARTUP_HOST_DIR');
const nodeIp = requiredEnv('BENCH_POD_STARTUP_NODE_IP');
const netnsPrefix = requiredEnv('BENCH_POD_STARTUP_NETNS_PREFIX');
const dataDir = join(hostDir, 'node');
const runtimeRoot = join(dataDir, 'runtime');
const SKIFF = join(repoRoot, 'bin/skiff');

const log = (message: string) => process.stderr.write(`bench:pod-startup ${message}\n`);

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run bench/pod-startup.ts, not this file`);
  return value;
}

// ---------------------------------------------------------------- the node

interface NodeServer {
  process: ChildProcess;
  port: number;
  output: string[];
}

async function startNodeServer(): Promise<NodeServer> {
  const child = spawn(SKIFF, [
    'server', '--data-dir', dataDir, '--https-listen-port', '0', '--bind-address', '127.0.0.1',
    '--node-ip', nodeIp, '--node-name', NODE_NAME,
    // A cluster DNS address, as k3s configures: without one every pod gets a MissingClusterDNS warning event.
    '--cluster-dns', '10.43.0.10',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const { port, output } = await waitForReadyLine(child, 60_000);
  return { process: child, port, output };
}

async function stopNodeServer(server: NodeServer): Promise<void> {
  const child = server.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function poll(what: string, limitMs: number, done: () => Promise<boolean>): Promise<void> {
  const t0 = performance.now();
  while (!(await done())) {
    DEADLINE.check(what);
    if (performance.now() - t0 > limitMs) throw new Error(`${what}: not after ${limitMs / 1000}s`);
    await sleep(200);
  }
}

/** The node Ready, and the namespace with what its pods need (default ServiceAccount, kube-root-ca.crt). */
async function prepareCluster(client: Client): Promise<void> {
  await poll(`node ${NODE_NAME} Ready`, 60_000, async () => {
    const r = await client.request('GET', `/api/v1/nodes/${NODE_NAME}`);
    if (r.status !== 200) return false;
    const node = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
    return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  });
  await client.expect('POST', '/api/v1/namespaces', 201, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  await poll('the namespace\'s default ServiceAccount and kube-root-ca.crt', 60_000, async () =>
    (await client.request('GET', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/default`)).status === 200
    && (await client.request('GET', `/api/v1/namespaces/${NAMESPACE}/configmaps/kube-root-ca.crt`)).status === 200);
}

// ---------------------------------------------------------------- phases

async function deleteAllPods(client: Client, watch: PodWatch, what: string): Promise<number | undefined> {
  const t0 = performance.now();
  await client.expect('DELETE', `/api/v1/namespaces/${NAMESPACE}/pods`, 200);
  const gone = await waitUntil({
    what: `${what}: all pods gone`, limitMs: GONE_LIMIT_MS, deadline: DEADLINE, watch, log,
    done: () => watch.presentCount === 0, progress: () => `${watch.presentCount} left`,
  });
  return gone ? performance.now() - t0 : undefined;
}

async function runPhase(options: { client: Client; watch: PodWatch; serverPid: number; prefix: string; perSecond: number }): Promise<PhaseResult> {
  const { client, watch, serverPid, prefix, perSecond } = options;
  const kase = `${PODS}Pods/${perSecond}PerSecond`;
  log(`${kase}: creating`);
  const cpuMeter = startCpuMeter(serverPid);
  const startedAt = performance.now();
  const serverCpu0 = cpuSecondsWithChildren(serverPid);
  const pods: PodTimes[] = await createAtRate({ client, watch, namespace: NAMESPACE, prefix, count: PODS, perSecond, deadline: DEADLINE, log });
  const readyCount = () => pods.filter((p) => p.readyAt !== undefined).length;
  await waitUntil({
    what: `${kase}: all Ready`, limitMs: READY_LIMIT_MS, deadline: DEADLINE, watch, log,
    done: () => readyCount() === PODS, progress: () => `${readyCount()}/${PODS} Ready`,
  });
  const cpu = cpuMeter.read();
  const startingSeconds = (performance.now() - startedAt) / 1000;
  const usage = nodeUsage({ serverPid, runtimeRoot });
  // The previous phase's pods are gone with their shims: every live shim is this phase's.
  const nodeCpuSeconds = cpuSecondsWithChildren(serverPid) - serverCpu0 + usage.shims.cpuSeconds;
  const idleMeter = startCpuMeter(serverPid);
  await sleep(IDLE_SECONDS * 1000);
  const idleCpu = idleMeter.read();
  log(`${kase}: ${readyCount()}/${PODS} Ready; server ${usage.serverRssMiB.toFixed(0)} MiB, ${usage.shims.count} shims ${usage.shims.rssMiB.toFixed(0)} MiB RSS`);
  const deleteAllMs = await deleteAllPods(client, watch, kase);
  return { kase, pods, cpu, startingSeconds, nodeCpuSeconds, idleCpu, idleSeconds: IDLE_SECONDS, usage, deleteAllMs };
}

/** One pod first, excluded from the figures: the node's one-time work (bridge, first sandbox) is not the SLI's. */
async function warmUp(client: Client, watch: PodWatch): Promise<number | undefined> {
  const [pod] = await createAtRate({ client, watch, namespace: NAMESPACE, prefix: 'warmup', count: 1, perSecond: 1, deadline: DEADLINE, log });
  await waitUntil({ what: 'warm-up pod Ready', limitMs: READY_LIMIT_MS, deadline: DEADLINE, watch, log, done: () => pod!.readyAt !== undefined });
  await deleteAllPods(client, watch, 'warm-up');
  return pod!.readyAt === undefined ? undefined : pod!.readyAt - pod!.sentAt;
}

async function runcSamples(baseline: RuncBaseline, count: number, into: RuncSample[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    DEADLINE.check('runc baseline');
    into.push(await baseline.sample());
  }
  log(`runc baseline: ${into.length} samples`);
}

// ---------------------------------------------------------------- main

/** Cleanup's own pod deletion: no watch needed, a list every 200 ms (at most 60 s). */
async function deletePodsByList(client: Client): Promise<void> {
  await client.expect('DELETE', `/api/v1/namespaces/${NAMESPACE}/pods`, 200);
  await poll('cleanup: pods gone', 60_000, async () =>
    (JSON.parse(await client.expect('GET', `/api/v1/namespaces/${NAMESPACE}/pods?limit=1`, 200)) as { items: unknown[] }).items.length === 0);
}

interface Running {
  server?: NodeServer;
  client?: Client;
  watch?: PodWatch;
  baseline?: RuncBaseline;
  /** Set by a signal: skip the polite pod deletion, remove everything now. */
  aborted: boolean;
}
const running: Running = { aborted: false };
let cleaning: Promise<void> | undefined;

/** Pods through the API (so the agent removes them), the server, `skiff cleanup`, the baseline's leftovers. Runs once. */
function cleanupOnce(): Promise<void> {
  cleaning ??= (async () => {
    const { server, client, watch, baseline } = running;
    watch?.stop();
    if (client && server && !running.aborted && server.process.exitCode === null) {
      await deletePodsByList(client).catch((error: unknown) => log(`cleanup: deleting pods: ${(error as Error).message}`));
    }
    client?.close();
    if (server) await stopNodeServer(server);
    try {
      execFileSync(SKIFF, ['cleanup', '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
    } catch (error) {
      log(`skiff cleanup --data-dir ${dataDir}: ${(error as Error).message}`);
    }
    await baseline?.close();
  })();
  return cleaning;
}

/** The image's layer dirs from the node's store (for the baseline's overlay). */
async function imageLayers(): Promise<string[]> {
  const images = await ImageService.open({ dataDir });
  try {
    if (images.layerFormat !== 'overlay') throw new Error(`the image store's layers are "${images.layerFormat}", not overlay: the baseline needs overlayfs`);
    return images.layersFor(BENCH_IMAGE);
  } finally {
    images.close();
  }
}

async function run(): Promise<object[]> {
  const workDir = join(hostDir, 'work');
  mkdirSync(workDir, { recursive: true });
  log('building the busybox image (umoci) and importing it into the node');
  const archive = buildBusyboxArchive(join(workDir, 'image'));
  execFileSync(SKIFF, ['images', 'import', archive, '--name', BENCH_IMAGE_REPOSITORY, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const baseline = running.baseline = new RuncBaseline({ workDir: join(workDir, 'runc'), lowerdirs: await imageLayers(), netnsPrefix, log });
  const runc: RuncSample[] = [];
  await runcSamples(baseline, Math.ceil(RUNC_SAMPLES / 2), runc);

  log('starting skiff server with its local agent');
  const server = running.server = await startNodeServer();
  const client = running.client = new Client({ port: server.port, tlsDir: join(dataDir, 'tls'), log });
  await prepareCluster(client);
  const watch = running.watch = await PodWatch.open({ client, namespace: NAMESPACE });
  const warmupMs = await warmUp(client, watch);
  log(`warm-up pod Ready after ${warmupMs?.toFixed(0)} ms`);

  const serverPid = server.process.pid!;
  const slow = await runPhase({ client, watch, serverPid, prefix: 'slow', perSecond: RATE_SLOW });
  const fast = await runPhase({ client, watch, serverPid, prefix: 'fast', perSecond: RATE_FAST });
  // The other half of the baseline after the agent's phases, so drift of a shared machine falls on both sides.
  await runcSamples(baseline, RUNC_SAMPLES - runc.length, runc);
  return [
    ...phaseLines(slow, runc), ...phaseLines(fast, runc), ...baselineLines(runc),
    { bench: 'pod-startup', case: 'warm-up', metric: 'first_pod_create_to_ready', value: warmupMs === undefined ? null : Math.round(warmupMs), unit: 'ms (not in the phases: the node\'s first pod)' },
  ];
}

async function main(): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.aborted = true;
      log(`${signal}: cleaning up`);
      void cleanupOnce().finally(() => process.exit(130));
    });
  }
  // While aborting, the measuring flow still runs on and fails against the closed client: that is expected.
  process.on('unhandledRejection', (reason) => {
    if (running.aborted) return;
    log(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`);
    process.exitCode = 1;
  });
  const started = performance.now();
  log(`machine: ${machineDescription()}`);
  log(`scale ${SCALE}: ${PODS} pods at ${RATE_SLOW}/s, then ${PODS} at ${RATE_FAST}/s; ${RUNC_SAMPLES} runc samples; bound ${DEADLINE.ms / 1000}s`);
  try {
    const lines = await run();
    for (const line of lines) process.stdout.write(JSON.stringify(line) + '\n');
    log(`measured in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  } catch (error) {
    log(`failed: ${(error as Error).stack ?? String(error)}`);
    if (running.server) log(`server output (last lines):\n${running.server.output.slice(-30).join('\n')}`);
    process.exitCode = 1;
  } finally {
    await cleanupOnce();
    log(`cleaned up; total ${((performance.now() - started) / 1000).toFixed(1)}s`);
  }
}

await main();
