// A whole node for the node-agent end-to-end tests (ARCHITECTURE.md §7): a
// test host (its own network namespace, node address 192.0.2.10) holding a
// real docker-registry on 127.0.0.1 with a busybox image built from
// busybox-static by umoci and pushed by skopeo, and a `skiff server` whose
// local agent runs pods in real runc containers. kubectl runs inside the
// test host too. `useNodeCluster()` (in a describe body) makes all of it in
// `before` and in `after` stops the server, runs `skiff cleanup` on its data
// dir and destroys the test host (processes, pod namespaces, mounts, temp
// dir), pass or fail.
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { buildBusyboxOciLayout, startRegistry } from '../support/busybox-image.ts';
import { createTestHost, mountsUnder, type RunResult, type TestHost } from '../support/test-host.ts';
import { KUBECTL, repoRoot } from './harness.ts';

export const isRoot = process.getuid?.() === 0;
export const NODE_NAME = 'skiff-e2e-node';
const SKIFF = join(repoRoot, 'bin/skiff');
const API_PORT = 6443;
const REGISTRY_PORT = 5000;

/** Kubernetes objects as kubectl prints them (tests read fields freely). */
export type Json = any;

export interface KubectlRun {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface NodeCluster {
  host: TestHost;
  /** `127.0.0.1:5000/busybox` (tag latest), reachable from the node. */
  image: string;
  dataDir: string;
  kubeconfig: string;
  /** kubectl inside the test host; never throws on a non-zero exit. */
  kubectl(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<KubectlRun>;
  /** kubectl that must succeed: its stdout. */
  k(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** `kubectl get … -o json`, parsed. */
  get(args: string[]): Promise<Json>;
  /** `kubectl apply -f -` of one object or a List. */
  apply(object: Json): Promise<void>;
  /** Starts kubectl in the test host without waiting (logs -f, exec -it through `script`). */
  spawnKubectl(args: string[]): ChildProcess;
  /** Argv of kubectl with this cluster's kubeconfig (for wrapping, e.g. in `script -c`). */
  kubectlArgv(args: string[]): string[];
  /** Polls until `check` returns something truthy; the error carries the server's last log lines. */
  waitFor<T>(what: string, check: () => Promise<T | undefined | false>, options?: { timeoutMs?: number; intervalMs?: number }): Promise<T>;
  /** Polls the pod until `predicate` holds; returns that version of it. */
  waitForPod(name: string, what: string, predicate: (pod: Json) => boolean, options?: { timeoutMs?: number }): Promise<Json>;
  /** Stops the server (SIGKILL when `hard`: the local agent dies with it) and starts it again on the same data dir. */
  restartServer(options?: { hard?: boolean }): Promise<void>;
  /** The server's output so far (stderr and stdout). */
  serverLog(): string;
}

interface ServerProcess {
  child: ChildProcess;
  output: string[];
}

async function startNodeServer(host: TestHost, dataDir: string, output: string[], extraArgs: string[] = []): Promise<ServerProcess> {
  const child = host.spawn([
    SKIFF, 'server', '--data-dir', dataDir, '--node-ip', host.nodeIp, '--node-name', NODE_NAME,
    '--https-listen-port', String(API_PORT), ...extraArgs,
  ]);
  const copy = process.env.SKIFF_E2E_SERVER_LOG; // set it to keep the server's output in a file (debugging)
  child.stderr!.on('data', (d) => {
    output.push(String(d));
    if (copy) appendFileSync(copy, String(d));
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`skiff server not ready in 60 s:\n${output.join('')}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line + '\n');
      if (line.startsWith('skiff server ready:')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`skiff server exited (${code ?? signal}):\n${output.join('')}`));
    });
  });
  return { child, output };
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/** What the node made that must be gone after `skiff cleanup`: pod uids (cgroups) and pod netns names. */
function nodeTraces(dataDir: string): { podUids: string[]; netns: string[] } {
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  return {
    podUids: list(join(dataDir, 'pods')).filter((name) => /^[0-9a-f-]{36}$/.test(name)),
    netns: list(join(dataDir, 'network', 'pods')).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)),
  };
}

function leftovers(dataDir: string, traces: { podUids: string[]; netns: string[] }): string[] {
  const left = mountsUnder(dataDir).map((m) => `mount ${m}`);
  const namespaces = existsSync('/var/run/netns') ? readdirSync('/var/run/netns') : [];
  left.push(...traces.netns.filter((n) => namespaces.includes(n)).map((n) => `netns ${n}`));
  for (const hierarchy of ['memory', 'cpu', 'pids']) {
    const parent = `/sys/fs/cgroup/${hierarchy}/skiff`;
    if (!existsSync(parent)) continue;
    for (const dir of readdirSync(parent)) if (traces.podUids.some((uid) => dir.startsWith(`pod${uid}`))) left.push(`cgroup ${parent}/${dir}`);
  }
  return left;
}

const tail = (text: string, lines: number) => text.split('\n').slice(-lines).join('\n');

/** For a describe body: the node cluster, made in `before`, removed in `after`. */
export interface NodeClusterOptions {
  /** More `skiff server` flags (e.g. the ingress ports). */
  serverArgs?: string[];
}

export function useNodeCluster(options: NodeClusterOptions = {}): () => NodeCluster {
  let cluster: NodeCluster | undefined;
  let host: TestHost | undefined;
  before(async () => {
    host = await createTestHost();
    cluster = await startNodeCluster(host, options);
  });
  after(async () => {
    await host?.destroy();
  });
  return () => {
    if (!cluster) throw new Error('the node cluster is made in before(); use it inside tests');
    return cluster;
  };
}

export async function startNodeCluster(host: TestHost, options: NodeClusterOptions = {}): Promise<NodeCluster> {
  const dataDir = join(host.tempDir, 'data');
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const output: string[] = [];
  let server: ServerProcess | undefined;
  host.onDestroy(async () => {
    if (server) await stopProcess(server.child, 'SIGTERM');
    // Containers outlive the server (as k3s'): remove them, their netns, bridge and mounts.
    const traces = nodeTraces(dataDir);
    const result = await host.run([SKIFF, 'cleanup', '--data-dir', dataDir], { timeoutMs: 120_000 });
    if (result.code !== 0) throw new Error(`skiff cleanup failed (${result.code}): ${result.stderr}`);
    const left = leftovers(dataDir, traces);
    if (left.length) throw new Error(`skiff cleanup left: ${left.join(', ')}`);
  });

  const imageWork = join(host.tempDir, 'image');
  mkdirSync(imageWork, { recursive: true });
  const layout = join(imageWork, 'oci');
  buildBusyboxOciLayout({ workDir: imageWork, layout });
  const registry = await startRegistry({ dir: join(host.tempDir, 'registry'), port: REGISTRY_PORT, spawn: (argv) => host.spawn(argv) });
  const pushed = await host.run(['skopeo', 'copy', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${registry.host}/busybox:latest`], { timeoutMs: 60_000 });
  if (pushed.code !== 0) throw new Error(`skopeo copy failed: ${pushed.stderr}`);

  server = await startNodeServer(host, dataDir, output, options.serverArgs);
  const kubectlArgv = (args: string[]) => [KUBECTL, '--kubeconfig', kubeconfig, '--cache-dir', join(dataDir, 'kube-cache'), ...args];
  const kubectl = async (args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<KubectlRun> => {
    const r: RunResult = await host.run(kubectlArgv(args), { input: options.input, timeoutMs: options.timeoutMs ?? 60_000 });
    return { stdout: r.stdout, stderr: r.stderr, code: r.code };
  };
  const k = async (args: string[], options: { input?: string; timeoutMs?: number } = {}) => {
    const r = await kubectl(args, options);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  };
  const serverLog = () => output.join('');
  const waitFor = async <T>(what: string, check: () => Promise<T | undefined | false>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> => {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    let last: unknown;
    for (;;) {
      try {
        const value = await check();
        if (value) return value;
        last = undefined;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}\n--- server log (tail) ---\n${tail(serverLog(), 40)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    }
  };
  const get = async (args: string[]) => JSON.parse(await k(['get', ...args, '-o', 'json']));
  const cluster: NodeCluster = {
    host, dataDir, kubeconfig,
    image: `${registry.host}/busybox`,
    kubectl, k, get, waitFor, serverLog, kubectlArgv,
    async apply(object) {
      await k(['apply', '-f', '-'], { input: JSON.stringify(object) });
    },
    spawnKubectl: (args) => host.spawn(kubectlArgv(args), { stdio: ['pipe', 'pipe', 'pipe'] }),
    waitForPod(name, what, predicate, options = {}) {
      let last: Json;
      return waitFor(`pod ${name} ${what}`, async () => {
        last = await get(['pod', name]);
        return predicate(last) ? last : undefined;
      }, options).catch((error: Error) => {
        error.message += `\n--- pod status ---\n${JSON.stringify(last?.status ?? null, null, 1)}`;
        throw error;
      });
    },
    async restartServer(restart = {}) {
      if (server) await stopProcess(server.child, restart.hard ? 'SIGKILL' : 'SIGTERM');
      output.push('--- server restarted ---\n');
      server = await startNodeServer(host, dataDir, output, options.serverArgs);
    },
  };
  await waitFor('the node to be Ready', async () => {
    const node = await get(['node', NODE_NAME]);
    return node.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True');
  });
  await waitFor('the default ServiceAccount', async () => (await kubectl(['get', 'serviceaccount', 'default'])).code === 0);
  return cluster;
}

/** A container's status by name (app or init container). */
export function containerStatus(pod: Json, name: string): Json {
  return [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((c: Json) => c.name === name);
}

export function condition(pod: Json, type: string): string | undefined {
  return pod.status?.conditions?.find((c: Json) => c.type === type)?.status;
}

export function isReady(pod: Json): boolean {
  return condition(pod, 'Ready') === 'True';
}

/** A bare pod object running `command` in the busybox image. */
export function busyboxPod(options: { name: string; image: string; command: string[]; spec?: Json; container?: Json; labels?: Record<string, string> }): Json {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: options.name, labels: options.labels ?? { test: options.name } },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'main', image: options.image, command: options.command, ...options.container }],
      ...options.spec,
    },
  };
}
