// Test support for the streaming server: a backend whose "containers" are
// host processes and log files the test writes, and a throwaway CA that signs
// client certificates. Used by this folder's tests and the logs/exec e2e test;
// never wired into the agent.
import "reflect-metadata"; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill.
import * as x509 from '@peculiar/x509';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ExecOptions, StreamSession } from '../runtime/types.ts';
import { StreamingError, type ContainerLogSource, type ContainerTarget, type PodTarget, type StreamingBackend } from './types.ts';

export interface FakeContainer {
  /** Current attempt's CRI log file. */
  logPath?: string;
  /** The previous attempt's log file (for `previous`). */
  previousLogPath?: string;
  running: boolean;
  /** A process standing in for the container's main process (attach). */
  main?: ChildProcess;
}

/** A StreamingBackend over host processes: exec runs argv on the host (tests only). */
export class FakeStreamingBackend implements StreamingBackend {
  readonly containers = new Map<string, FakeContainer>();
  /** Every exec/attach request, in order (what the server passed down). */
  readonly calls: Array<{ kind: 'exec' | 'attach'; target: ContainerTarget; options: unknown }> = [];
  readonly resizes: Array<{ width: number; height: number }> = [];
  /** The processes exec started. */
  readonly processes: ChildProcess[] = [];
  /**
   * Port-forward: "namespace/pod:port" → the local port on 127.0.0.1 standing in
   * for it; a pod with containers but no entry is dialled at its own port number.
   */
  readonly forwardedPorts = new Map<string, number>();
  /** Every port-forward dial, in order. */
  readonly portForwards: Array<{ target: PodTarget; port: number }> = [];
  private readonly cwd: string;

  constructor(options: { cwd: string }) {
    this.cwd = options.cwd;
  }

  set(target: { namespace: string; pod: string; container: string }, container: FakeContainer): void {
    this.containers.set(key(target), container);
  }

  private find(target: ContainerTarget): FakeContainer {
    const found = this.containers.get(key(target));
    if (!found) throw StreamingError.notFound(`container "${target.container}" in pod "${target.pod}" not found`);
    return found;
  }

  async exec(target: ContainerTarget, options: ExecOptions): Promise<StreamSession> {
    const container = this.find(target);
    this.calls.push({ kind: 'exec', target, options });
    if (!container.running) throw StreamingError.badRequest(`container "${target.container}" in pod "${target.pod}" is not running`);
    const child = spawn(options.argv[0], options.argv.slice(1), { cwd: this.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.processes.push(child);
    return this.session(child, true);
  }

  async check(target: ContainerTarget): Promise<void> {
    if (!this.find(target).running) throw StreamingError.badRequest(`container "${target.container}" in pod "${target.pod}" is not running`);
  }

  async attach(target: ContainerTarget, options: { stdin: boolean; tty: boolean }): Promise<StreamSession> {
    const container = this.find(target);
    this.calls.push({ kind: 'attach', target, options });
    if (!container.main) throw StreamingError.badRequest(`container "${target.container}" has no main process to attach to`);
    return this.session(container.main, false);
  }

  async checkPod(target: PodTarget): Promise<void> {
    const prefix = `${target.namespace}/${target.pod}`;
    const known = [...this.forwardedPorts.keys()].some((k) => k.startsWith(`${prefix}:`)) || [...this.containers.keys()].some((k) => k.startsWith(`${prefix}/`));
    if (!known) throw StreamingError.notFound('pod does not exist');
  }

  async portForward(target: PodTarget, port: number): Promise<Duplex> {
    await this.checkPod(target);
    const mapped = this.forwardedPorts.get(`${target.namespace}/${target.pod}:${port}`);
    this.portForwards.push({ target, port });
    const localPort = mapped ?? port;
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: localPort });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        reject(new Error(error.code === 'ECONNREFUSED' ? `dial tcp4 127.0.0.1:${localPort}: connect: connection refused` : error.message));
      });
    });
  }

  async containerLog(target: ContainerTarget, options: { previous: boolean }): Promise<ContainerLogSource> {
    const container = this.find(target);
    const path = options.previous ? container.previousLogPath : container.logPath;
    if (!path) {
      throw StreamingError.badRequest(options.previous
        ? `previous terminated container "${target.container}" in pod "${target.pod}" not found`
        : `container "${target.container}" in pod "${target.pod}" has no log file`);
    }
    return { path, isRunning: async () => !options.previous && container.running };
  }

  private session(child: ChildProcess, killOnClose: boolean): StreamSession {
    const exited = new Promise<number>((resolve, reject) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 9 : 0)));
      child.once('error', reject);
    });
    return {
      stdin: child.stdin ?? undefined,
      stdout: child.stdout!,
      stderr: child.stderr ?? undefined,
      resize: (size) => this.resizes.push(size),
      exited,
      close: () => {
        if (killOnClose && child.exitCode === null) child.kill('SIGKILL');
      },
    };
  }
}

function key(target: { namespace: string; pod: string; container: string }): string {
  return `${target.namespace}/${target.pod}/${target.container}`;
}

export interface TestCertificateAuthority {
  caCert: string;
  /** A client certificate signed by the CA. */
  issueClient(options: { commonName: string; organizations?: string[] }): Promise<{ cert: string; key: string }>;
}

const webCrypto = webcrypto as unknown as Crypto;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** A CA for tests (ECDSA P-256, valid a day). */
export async function testCertificateAuthority(): Promise<TestCertificateAuthority> {
  const caKeys = (await webCrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const caName = new x509.Name([{ CN: [{ utf8String: 'skiff-test-ca' }] }]);
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: caName, keys: caKeys, signingAlgorithm: ALGORITHM,
    notBefore: new Date(now - 3600_000), notAfter: new Date(now + 86400_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
    ],
  }, webCrypto);
  return {
    caCert: ca.toString('pem') + '\n',
    async issueClient({ commonName, organizations = [] }) {
      const keys = (await webCrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
      const subject: x509.JsonNameParams = [{ CN: [{ utf8String: commonName }] }];
      for (const org of organizations) subject.push({ O: [{ utf8String: org }] });
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(), subject: new x509.Name(subject), issuer: ca.subjectName,
        publicKey: keys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: ALGORITHM,
        notBefore: new Date(now - 3600_000), notAfter: new Date(now + 86400_000),
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        ],
      }, webCrypto);
      const der = await webCrypto.subtle.exportKey('pkcs8', keys.privateKey);
      return { cert: cert.toString('pem') + '\n', key: x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n' };
    },
  };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! % 0x7f) + 1;
  return bytes.toString('hex');
}
