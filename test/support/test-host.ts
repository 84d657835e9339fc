// A "test host" (ARCHITECTURE.md §7): a network namespace the test creates, in
// which a whole node runs — server, agent, registry, kubectl — so the node's
// bridge, pod namespaces and (later) service rules never touch this machine's
// own network.
//
//   skt-<random>   lo up, eth0 = 192.0.2.10/24 (documentation range) with a
//                  default route through it; eth0's peer stays DOWN in the
//                  machine's netns with no address, so nothing sent "out"
//                  ever leaves: the default route exists only so node-IP
//                  autodetection has something to find.
//
// Processes are started with `nsenter --net=…`, not `ip netns exec`: the latter
// also gives the process a private (slave) mount namespace, so the pod netns
// bind mounts (`ip netns add`) and overlay mounts the node makes would vanish
// with the process, and a restarted agent (or `skiff cleanup`) could not see
// them. With nsenter they live in the machine's mount namespace, where
// destroy() finds and removes what sits under the test's temp dir.
//
// useTestHost() (in a describe body) creates one in `before` and registers
// destroy() with `after`, so it runs pass or fail. (Calling node:test's
// `after` from inside a `before` hook would attach it to the hook, which ends
// at once; hence the fixture.) destroy() removes, in order: the cleanup hooks' work, every process it started (and
// every process still inside the test netns or a pod netns wired to it),
// those pod namespaces, mounts under the temp dir, the test netns with its
// veth, and the temp dir.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { IpRoute2, runCommand } from '../../src/agent/network/iproute.ts';

export interface TestHostOptions {
  /** The node address inside the test host (default 192.0.2.10, prefix /24). */
  nodeIp?: string;
  /** Name prefix of the netns (default `skt-`). */
  prefix?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnInHostOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdio?: StdioOptions;
}

export interface TestHost {
  /** Netns name, e.g. skt-1a2b3c. */
  readonly name: string;
  readonly netnsPath: string;
  readonly nodeIp: string;
  /** Removed by destroy(); put data dirs here. */
  readonly tempDir: string;
  /** `ip` inside the test host. */
  readonly ip: IpRoute2;
  /** Starts a process inside the test host (its own process group; killed by destroy()). */
  spawn(argv: string[], options?: SpawnInHostOptions): ChildProcess;
  /** Runs a command inside the test host to completion (default timeout 30 s). */
  run(argv: string[], options?: SpawnInHostOptions & { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Work for destroy() to do first (e.g. `skiff cleanup --data-dir …`); last added runs first. */
  onDestroy(hook: () => Promise<void> | void): void;
  destroy(): Promise<void>;
}

const NETNS_DIR = '/var/run/netns';

export async function createTestHost(options: TestHostOptions = {}): Promise<TestHost> {
  const suffix = randomBytes(3).toString('hex');
  const name = `${options.prefix ?? 'skt-'}${suffix}`;
  const hostEnd = `skth${suffix}`;
  const nodeIp = options.nodeIp ?? '192.0.2.10';
  const tempDir = mkdtempSync(join(tmpdir(), `${name}-`));
  const netnsPath = `${NETNS_DIR}/${name}`;
  const machineIp = new IpRoute2();
  const ip = machineIp.inNetns(name);
  const children = new Set<ChildProcess>();
  const hooks: (() => Promise<void> | void)[] = [];
  let destroyed: Promise<void> | undefined;

  const spawnInHost = (argv: string[], spawnOptions: SpawnInHostOptions = {}): ChildProcess => {
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', ...argv], {
      cwd: spawnOptions.cwd,
      env: { ...process.env, ...spawnOptions.env },
      stdio: spawnOptions.stdio ?? ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so destroy() reaches its children too
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };

  const host: TestHost = {
    name, netnsPath, nodeIp, tempDir, ip,
    spawn: spawnInHost,
    run(argv, runOptions = {}) {
      const child = spawnInHost(argv, { ...runOptions, stdio: ['pipe', 'pipe', 'pipe'] });
      return collect(child, runOptions.input, runOptions.timeoutMs ?? 30_000);
    },
    onDestroy(hook) {
      hooks.push(hook);
    },
    destroy() {
      destroyed ??= destroyHost({ name, hostEnd, tempDir, machineIp, children, hooks });
      return destroyed;
    },
  };
  try {
    await machineIp.exec(['netns', 'add', name]);
    await ip.exec(['link', 'set', 'dev', 'lo', 'up']);
    await machineIp.exec(['link', 'add', 'name', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
    await ip.exec(['addr', 'add', `${nodeIp}/24`, 'dev', 'eth0']);
    await ip.exec(['link', 'set', 'dev', 'eth0', 'up']);
    await ip.exec(['route', 'add', 'default', 'dev', 'eth0']);
  } catch (error) {
    await host.destroy().catch(() => undefined);
    throw error;
  }
  return host;
}

/**
 * For a describe body: a test host made in `before` and destroyed in `after`
 * (pass or fail). Returns a getter for the tests to use.
 */
export function useTestHost(options: TestHostOptions = {}): () => TestHost {
  let host: TestHost | undefined;
  before(async () => {
    host = await createTestHost(options);
  });
  after(async () => {
    await host?.destroy();
  });
  return () => {
    if (!host) throw new Error('the test host is made in before(); use it inside tests');
    return host;
  };
}

function collect(child: ChildProcess, input: string | undefined, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, signal });
    });
    // A command that exits without reading its stdin makes this write fail (EPIPE); that is not an error of the run.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input ?? '');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function destroyHost(options: {
  name: string; hostEnd: string; tempDir: string; machineIp: IpRoute2;
  children: Set<ChildProcess>; hooks: (() => Promise<void> | void)[];
}): Promise<void> {
  const { name, hostEnd, tempDir, machineIp, children, hooks } = options;
  const problems: unknown[] = [];
  const attempt = async (work: () => Promise<unknown> | unknown) => {
    try {
      await work();
    } catch (error) {
      problems.push(error);
    }
  };

  for (const hook of [...hooks].reverse()) await attempt(hook);

  // The processes we started: SIGTERM to each group, SIGKILL after 5 s.
  const started = [...children];
  for (const child of started) killGroup(child, 'SIGTERM');
  await Promise.all(started.map(async (child) => {
    if (!(await waitForExit(child, 5_000))) {
      killGroup(child, 'SIGKILL');
      await waitForExit(child, 5_000);
    }
  }));

  // Pod namespaces the node wired to the test host (veth peers), and whatever still runs in them or in the test host.
  const exists = (await machineIp.netnsNames().catch((): string[] => [])).includes(name);
  let peers: string[] = [];
  if (exists) await attempt(async () => (peers = await peerNetns(machineIp.inNetns(name))));
  for (const netns of [...peers, ...(exists ? [name] : [])]) await attempt(() => killNetnsProcesses(netns));
  for (const netns of peers) await attempt(() => machineIp.deleteNetns(netns));

  await attempt(() => unmountUnder(tempDir));
  await attempt(() => machineIp.deleteLink(hostEnd));
  if (exists) await attempt(() => machineIp.deleteNetns(name));
  await attempt(() => rmSync(tempDir, { recursive: true, force: true }));
  if (problems.length) throw new AggregateError(problems, `test host ${name}: cleanup left ${problems.length} problem(s): ${problems.map(String).join('; ')}`);
}

/** Named namespaces the test host has a link into (`ip netns list-id` resolves their names). */
async function peerNetns(ip: IpRoute2): Promise<string[]> {
  const ids = await ip.json<{ nsid: number; name?: string }[]>(['netns', 'list-id']);
  return ids.map((entry) => entry.name).filter((n): n is string => Boolean(n));
}

async function killNetnsProcesses(netns: string): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const pids = (await runCommand(['ip', 'netns', 'pids', netns])).split('\n').map(Number).filter((p) => p > 0 && p !== process.pid);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`processes still running in netns ${netns}`);
}

/** Mount points at or below `dir` in this mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  const unescape = (path: string) => path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((line) => unescape(line.split(' ')[4]));
  return [...new Set(points.filter((p) => p === dir || p.startsWith(`${dir}/`)))].sort((a, b) => b.length - a.length);
}

async function unmountUnder(dir: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(dir);
    if (points.length === 0) return;
    for (const point of points) await runCommand(['umount', point]).catch(() => runCommand(['umount', '-l', point]).catch(() => undefined));
  }
  const left = mountsUnder(dir);
  if (left.length) throw new Error(`mounts left under ${dir}: ${left.join(', ')}`);
}
