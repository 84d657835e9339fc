// Starts real etcd members (Debian's `etcd-server`) on free loopback ports for
// tests, the e2e harness and benchmarks. Each member's data dir lives in a
// temp dir that `stop()` removes; members still running when this process
// exits are killed, so a failed test leaves nothing behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BINARY = '/usr/bin/etcd';

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly dataDir: string;
  /** Last lines etcd printed (for failure messages). */
  readonly log: string[];
  readonly running: boolean;
  /** Sends a signal; SIGKILL/SIGTERM wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Freeze (SIGSTOP) and thaw (SIGCONT): etcd stops answering without closing connections. */
  pause(): Promise<void>;
  resume(): void;
  /** Starts the member again on the same ports and data dir and waits until it serves. */
  restart(): Promise<void>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs of all members. */
  endpoints: string[];
  /** Kills every member and removes the data dirs. */
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /** Number of members (1 or an odd number for a quorum). Default 1. */
  members?: number;
  /** Where the temp dir goes. Default /dev/shm when writable (no fsync cost), else the OS temp dir. */
  baseDir?: string;
  /**
   * Keep the members' data here instead of a temp dir, and leave it at stop()
   * (a caller that restarts etcd later on the same data, e.g. a server restart test).
   */
  dataDir?: string;
  /** How long to wait for the cluster to serve. Default 20 s. */
  readyTimeoutMs?: number;
  /** Serve clients over https with these PEM files, requiring client certificates signed by the CA. */
  tls?: EtcdServerTls;
}

export interface EtcdServerTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The client certificate and key the health probe presents. */
  clientCertFile: string;
  clientKeyFile: string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const count = options.members ?? 1;
  const root = options.dataDir ?? mkdtempSync(join(options.baseDir ?? defaultBaseDir(), 'skiff-etcd-'));
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const names = Array.from({ length: count }, (_, i) => `m${i}`);
  const ports = await freePorts(count * 2);
  const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[i * 2 + 1]}`);
  const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
  const members = names.map((name, i) => new Member({
    name,
    clientUrl: `${options.tls ? 'https' : 'http'}://127.0.0.1:${ports[i * 2]}`,
    peerUrl: peerUrls[i]!,
    dataDir: join(root, name),
    initialCluster,
    token: `skiff-${ports[0]}`,
    tls: options.tls,
  }));
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((member) => member.clientUrl),
    async stop() {
      await Promise.all(members.map((member) => member.kill('SIGKILL')));
      if (!options.dataDir) rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    for (const member of members) member.spawn();
    await Promise.all(members.map((member) => member.waitHealthy(options.readyTimeoutMs ?? 20_000)));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

function defaultBaseDir(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

interface MemberConfig {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  initialCluster: string;
  token: string;
  tls?: EtcdServerTls;
}

class Member implements EtcdMember {
  readonly #config: MemberConfig;
  readonly log: string[] = [];
  #child: ChildProcess | undefined;

  constructor(config: MemberConfig) {
    this.#config = config;
  }

  get name(): string {
    return this.#config.name;
  }
  get clientUrl(): string {
    return this.#config.clientUrl;
  }
  get dataDir(): string {
    return this.#config.dataDir;
  }
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  spawn(): void {
    const c = this.#config;
    const child = spawn(ETCD_BINARY, [
      '--name', c.name, '--data-dir', c.dataDir,
      '--listen-client-urls', c.clientUrl, '--advertise-client-urls', c.clientUrl,
      '--listen-peer-urls', c.peerUrl, '--initial-advertise-peer-urls', c.peerUrl,
      '--initial-cluster', c.initialCluster, '--initial-cluster-token', c.token,
      '--initial-cluster-state', 'new', '--logger', 'zap', '--log-level', 'warn',
      ...(c.tls ? ['--cert-file', c.tls.certFile, '--key-file', c.tls.keyFile, '--trusted-ca-file', c.tls.caFile, '--client-cert-auth'] : []),
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.log.push(...String(chunk).split('\n').filter(Boolean));
      if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    running.add(child);
    child.once('exit', () => running.delete(child));
    this.#child = child;
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`etcd ${this.name} exited:\n${this.log.join('\n')}`);
      if (await this.#healthy()) return;
      if (Date.now() > deadline) throw new Error(`etcd ${this.name} not healthy in ${timeoutMs} ms:\n${this.log.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** etcd's /health answers {"health":"true"} once the member serves (has a leader). */
  #healthy(): Promise<boolean> {
    const tls = this.#config.tls;
    return new Promise((resolve) => {
      const options = { timeout: 1_000, ...(tls ? { ca: readFileSync(tls.caFile), cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) } : {}) };
      const request = (tls ? httpsGet : httpGet)(`${this.clientUrl}/health`, options, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += String(chunk)));
        response.on('end', () => resolve(body.includes('"health":"true"')));
        response.on('error', () => resolve(false));
      });
      request.on('timeout', () => request.destroy());
      request.on('error', () => resolve(false));
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (signal === 'SIGKILL' || signal === 'SIGTERM') child.kill('SIGCONT'); // a frozen etcd cannot handle SIGTERM
    child.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') await exited;
  }

  /**
   * Freeze the member (SIGSTOP) and wait until the kernel reports it stopped:
   * the signal reaches a many-threaded process asynchronously, and a request
   * sent at once could still be answered by a thread not yet stopped.
   */
  async pause(): Promise<void> {
    const child = this.#child;
    if (!child?.pid) return;
    child.kill('SIGSTOP');
    for (let i = 0; i < 200; i++) {
      // /proc/PID/stat: "pid (comm) STATE …"; T = stopped.
      const state = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
      if (state === 'T') return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`etcd ${this.name} did not stop after SIGSTOP`);
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    this.spawn();
    await this.waitHealthy(20_000);
  }
}

/** Distinct free loopback ports (bound once, then released for etcd to take). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
