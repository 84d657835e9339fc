// A ContainerRuntime without processes, for the kubelet's tests: containers
// "run" until stopped or until the behaviour the test scripts for them says
// they exit (with a code, a termination message, log lines). Stops honour
// SIGTERM at once unless the behaviour ignores it (then the timeout elapses
// and the kill is exit 137). Every call is recorded.
import { appendFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type {
  ContainerConfig, ContainerRuntime, ContainerStatus, ExecOptions, PodSandboxConfig, PodSandboxStatus, StreamSession,
} from '../../runtime/types.ts';

export interface FakeBehaviour {
  /** Exit this long after the start (absent: run until stopped). */
  exitAfterMs?: number;
  exitCode?: number;
  /** 'OOMKilled' etc. */
  reason?: string;
  /** Written to the file mounted at /dev/termination-log (or the configured path) on exit. */
  terminationMessage?: string;
  /** Written to the log (CRI format) at start. */
  log?: string[];
  /** SIGTERM is ignored: a stop takes the whole timeout and ends in SIGKILL (137). */
  ignoreSigterm?: boolean;
}

export interface FakeContainer {
  config: ContainerConfig;
  status: ContainerStatus;
  behaviour: FakeBehaviour;
  timer?: NodeJS.Timeout;
}

export interface FakeRuntimeOptions {
  /** Decides how a container behaves (default: from argv — `exit N` exits with N at once, else runs). */
  behaviour?: (config: ContainerConfig) => FakeBehaviour;
  /** Answers execSync (probes, hooks); default exit 0. */
  exec?: (container: FakeContainer, options: ExecOptions) => Promise<{ exitCode: number; stdout?: string; stderr?: string }> | { exitCode: number; stdout?: string; stderr?: string };
}

export function defaultBehaviour(config: ContainerConfig): FakeBehaviour {
  const m = /\bexit (\d+)/.exec(config.argv.join(' '));
  if (m) return { exitAfterMs: 5, exitCode: Number(m[1]) };
  return {};
}

export class FakeRuntime implements ContainerRuntime {
  readonly name = 'runc';
  readonly sandboxes = new Map<string, PodSandboxStatus & { config: PodSandboxConfig }>();
  readonly containers = new Map<string, FakeContainer>();
  readonly calls: string[] = [];
  readonly stops: { id: string; name: string; timeoutSeconds: number }[] = [];
  private readonly options: FakeRuntimeOptions;

  constructor(options: FakeRuntimeOptions = {}) {
    this.options = options;
  }

  /** Stop every timer (tests' cleanup); containers stay as they are. */
  close(): void {
    for (const c of this.containers.values()) if (c.timer) clearTimeout(c.timer);
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const id = `sb-${randomBytes(6).toString('hex')}`;
    this.calls.push(`runPodSandbox ${config.name}`);
    this.sandboxes.set(id, { id, podUid: config.podUid, namespace: config.namespace, name: config.name, attempt: config.attempt, state: 'ready', createdAt: Date.now(), netnsPath: config.netnsPath, labels: config.labels ?? {}, config });
    return id;
  }

  async stopPodSandbox(sandboxId: string): Promise<void> {
    this.calls.push(`stopPodSandbox ${sandboxId}`);
    for (const c of this.containers.values()) if (c.status.sandboxId === sandboxId && c.status.state === 'running') this.exit(c, 137, 'Error');
    const sandbox = this.sandboxes.get(sandboxId);
    if (sandbox) sandbox.state = 'notready';
  }

  async removePodSandbox(sandboxId: string): Promise<void> {
    this.calls.push(`removePodSandbox ${sandboxId}`);
    this.sandboxes.delete(sandboxId);
  }

  async listPodSandboxes(): Promise<PodSandboxStatus[]> {
    return [...this.sandboxes.values()].map(({ config: _c, ...s }) => ({ ...s, labels: { ...s.labels } }));
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    if (!this.sandboxes.has(sandboxId)) throw new Error(`sandbox ${sandboxId} not found`);
    const id = randomBytes(16).toString('hex');
    this.calls.push(`createContainer ${config.name} ${config.attempt}`);
    this.containers.set(id, {
      config,
      behaviour: (this.options.behaviour ?? defaultBehaviour)(config),
      status: {
        id, sandboxId, name: config.name, attempt: config.attempt, state: 'created', createdAt: Date.now(), startedAt: 0, finishedAt: 0,
        imageId: config.image.imageId, logPath: config.logPath, labels: { ...config.labels },
      },
    });
    return id;
  }

  async startContainer(containerId: string): Promise<void> {
    const c = this.mustGet(containerId);
    this.calls.push(`startContainer ${c.config.name} ${c.config.attempt}`);
    c.status.state = 'running';
    c.status.startedAt = Date.now();
    c.status.pid = 1000 + this.containers.size;
    for (const line of c.behaviour.log ?? []) await appendFile(c.config.logPath, `${new Date().toISOString()} stdout F ${line}\n`);
    if (c.behaviour.exitAfterMs !== undefined) {
      c.timer = setTimeout(() => void this.finish(c, c.behaviour.exitCode ?? 0, c.behaviour.reason), c.behaviour.exitAfterMs);
    }
  }

  private async finish(c: FakeContainer, code: number, reason?: string): Promise<void> {
    if (c.status.state !== 'running') return;
    if (c.behaviour.terminationMessage !== undefined) {
      const mount = c.config.mounts.find((m) => m.containerPath === '/dev/termination-log') ?? c.config.mounts.at(-1);
      if (mount) await writeFile(mount.hostPath, c.behaviour.terminationMessage);
    }
    this.exit(c, code, reason);
  }

  private exit(c: FakeContainer, code: number, reason?: string): void {
    if (c.timer) clearTimeout(c.timer);
    c.status.state = 'exited';
    c.status.exitCode = code;
    c.status.reason = reason ?? (code === 0 ? 'Completed' : 'Error');
    c.status.finishedAt = Date.now();
    delete c.status.pid;
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    const c = this.mustGet(containerId);
    this.stops.push({ id: containerId, name: c.config.name, timeoutSeconds });
    this.calls.push(`stopContainer ${c.config.name} ${timeoutSeconds}`);
    if (c.status.state === 'created') return this.exit(c, 0, 'Completed');
    if (c.status.state !== 'running') return;
    if (c.behaviour.ignoreSigterm && timeoutSeconds > 0) {
      await new Promise((resolve) => setTimeout(resolve, timeoutSeconds * 1000));
      return this.exit(c, 137, 'Error');
    }
    this.exit(c, timeoutSeconds > 0 ? 143 : 137, 'Error');
  }

  async removeContainer(containerId: string): Promise<void> {
    const c = this.containers.get(containerId);
    if (c?.timer) clearTimeout(c.timer);
    this.calls.push(`removeContainer ${c?.config.name ?? containerId}`);
    this.containers.delete(containerId);
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    return structuredClone(this.mustGet(containerId).status);
  }

  async listContainers(filter?: { sandboxId?: string }): Promise<ContainerStatus[]> {
    return [...this.containers.values()].filter((c) => !filter?.sandboxId || c.status.sandboxId === filter.sandboxId).map((c) => structuredClone(c.status));
  }

  async execSync(containerId: string, options: ExecOptions): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }> {
    const c = this.mustGet(containerId);
    if (c.status.state !== 'running') throw new Error(`container ${containerId} is not running`);
    this.calls.push(`execSync ${c.config.name} ${options.argv.join(' ')}`);
    const res = this.options.exec ? await this.options.exec(c, options) : { exitCode: 0 };
    return { exitCode: res.exitCode, stdout: Buffer.from(res.stdout ?? ''), stderr: Buffer.from(res.stderr ?? '') };
  }

  async exec(): Promise<StreamSession> {
    throw new Error('the fake runtime has no streams');
  }

  async attach(): Promise<StreamSession> {
    throw new Error('the fake runtime has no streams');
  }

  /** Test helper: make a running container exit now. */
  crash(containerId: string, exitCode: number, reason?: string): void {
    this.exit(this.mustGet(containerId), exitCode, reason);
  }

  /** The runtime containers of one Kubernetes container name, oldest first. */
  byName(name: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.config.name === name).sort((a, b) => a.config.attempt - b.config.attempt);
  }

  private mustGet(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new Error(`container ${id} not found`);
    return c;
  }
}
