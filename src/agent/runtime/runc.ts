// ContainerRuntime on runc (default) or crun. State lives in files under
// ROOT (see state.ts) plus the runtime's own `--root`; every container and
// sandbox holder runs under a detached shim (shim/container_shim.py) that
// owns its stdio, writes the CRI log and records the exit status, so this
// object holds nothing a restarted agent would need: a new instance over the
// same root lists and adopts what is running.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPodCgroup, hostFacts, oomControlFile, removeCgroup } from './cgroups.ts';
import { attachToShim, execStreaming, execSync } from './exec.ts';
import { OciCli, type OciRuntimeName } from './oci-cli.ts';
import { containerSpec, sandboxSpec, type HostFacts } from './oci-spec.ts';
import { mountRootfs, unmount } from './rootfs.ts';
import { shimAlive, startShim } from './shim-client.ts';
import { newId, RuntimeState, writeJsonAtomic, type ContainerRecord, type ExitRecord, type SandboxRecord } from './state.ts';
import type {
  ContainerConfig, ContainerRuntime, ContainerStatus, ExecOptions, PodSandboxConfig, PodSandboxStatus, StreamSession,
} from './types.ts';

export interface RuncRuntimeOptions {
  /** State directory (e.g. DATA/runtime). */
  root: string;
  runtime?: OciRuntimeName;
  /** Absolute cgroup parent of every pod cgroup (default /skiff). */
  cgroupParent?: string;
  /** A static busybox for the sandbox holder (default /bin/busybox). */
  busybox?: string;
}

const POLL_MS = 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function attachSocketName(containerId: string): string {
  return `\0skiff-attach/${containerId}`;
}

export class RuncRuntime implements ContainerRuntime {
  readonly name: string;
  readonly state: RuntimeState;
  readonly cli: OciCli;
  private readonly cgroupParent: string;
  private readonly busybox: string;
  private readonly host: HostFacts;
  /**
   * What never changes for an id: the pod of each sandbox and the sandbox of
   * each container. Lets a list for one pod skip reading (and, for a created
   * container, asking `runc state` about) every other pod's records.
   */
  private readonly podOfSandbox = new Map<string, string>();
  private readonly sandboxOfContainer = new Map<string, string>();

  constructor(options: RuncRuntimeOptions) {
    this.state = new RuntimeState(options.root);
    this.cli = new OciCli({ name: options.runtime ?? 'runc', root: this.state.ociRoot });
    this.name = this.cli.name;
    this.cgroupParent = options.cgroupParent ?? '/skiff';
    this.busybox = options.busybox ?? '/bin/busybox';
    this.host = hostFacts();
  }

  // ---- sandboxes

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const id = newId();
    const dir = this.state.sandboxDir(id);
    mkdirSync(join(dir, 'bundle', 'rootfs'), { recursive: true });
    const record: SandboxRecord = {
      id, config, createdAt: Date.now(), podCgroup: `${this.cgroupParent}/pod${config.podUid}-${id.slice(0, 12)}`, pid: 0, shimPid: 0, stopped: false,
    };
    this.state.writeSandbox(record);
    try {
      writeFileSync(join(dir, 'hostname'), `${config.hostname}\n`);
      if (!config.hostIPC) {
        mkdirSync(join(dir, 'shm'));
        await this.mountShm(join(dir, 'shm'));
      }
      createPodCgroup({ path: record.podCgroup, resources: config.resources });
      const cgroupsPath = `${record.podCgroup}/${id}`;
      writeJsonAtomic(join(dir, 'bundle', 'config.json'), sandboxSpec({ config, busybox: this.busybox, hostnameFile: join(dir, 'hostname'), cgroupsPath, host: this.host }));
      const started = await startShim({
        id, bundle: join(dir, 'bundle'), stateDir: dir, runtime: this.cli.createArgv(), logPath: join(dir, 'holder.log'), oomControl: oomControlFile(cgroupsPath),
      });
      await this.cli.runOrThrow(['start', id]);
      this.state.writeSandbox({ ...record, pid: started.pid, shimPid: started.shimPid });
      return id;
    } catch (error) {
      await this.removePodSandbox(id).catch(() => undefined);
      throw error;
    }
  }

  private async mountShm(path: string): Promise<void> {
    await new Promise<void>((resolve, reject) => execFile('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,mode=1777,size=65536k', 'shm', path], (e) => (e ? reject(e) : resolve())));
  }

  async stopPodSandbox(sandboxId: string): Promise<void> {
    const record = this.state.readSandbox(sandboxId);
    if (!record) return;
    for (const c of await this.listContainers({ sandboxId })) await this.stopContainer(c.id, 0);
    const dir = this.state.sandboxDir(sandboxId);
    // Stopped before (the kubelet releases a pod, then removes it): the holder's shim recorded its exit, no `runc kill`.
    if (!this.state.readExit(dir)) {
      await this.cli.kill(sandboxId, 'KILL', { all: record.config.hostPID });
      await this.waitForExit({ dir, shimPid: record.shimPid, timeoutMs: 10_000 });
    }
    await unmount(join(dir, 'shm'));
    this.state.writeSandbox({ ...record, stopped: true });
  }

  async removePodSandbox(sandboxId: string): Promise<void> {
    const record = this.state.readSandbox(sandboxId);
    const dir = this.state.sandboxDir(sandboxId);
    if (!record) {
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      return;
    }
    for (const c of await this.listContainers({ sandboxId })) await this.removeContainer(c.id);
    if (!record.stopped) await this.stopPodSandbox(sandboxId);
    await this.cli.delete(sandboxId);
    await unmount(join(dir, 'shm'));
    removeCgroup(record.podCgroup);
    rmSync(dir, { recursive: true, force: true });
    this.podOfSandbox.delete(sandboxId);
  }

  async listPodSandboxes(filter: { podUid?: string } = {}): Promise<PodSandboxStatus[]> {
    const out: PodSandboxStatus[] = [];
    for (const id of this.state.sandboxIds()) {
      const knownPod = this.podOfSandbox.get(id);
      if (filter.podUid && knownPod !== undefined && knownPod !== filter.podUid) continue;
      const record = this.state.readSandbox(id);
      if (!record) continue;
      this.podOfSandbox.set(id, record.config.podUid);
      if (filter.podUid && record.config.podUid !== filter.podUid) continue;
      const exited = this.state.readExit(this.state.sandboxDir(id)) !== undefined;
      const ready = !record.stopped && record.pid > 0 && !exited && (shimAlive(record.shimPid) || (await this.cli.state(id))?.status === 'running');
      const { config } = record;
      out.push({
        id, podUid: config.podUid, namespace: config.namespace, name: config.name, attempt: config.attempt,
        state: ready ? 'ready' : 'notready', createdAt: record.createdAt, netnsPath: config.netnsPath, labels: config.labels ?? {},
      });
    }
    return out;
  }

  // ---- containers

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const sandbox = this.state.readSandbox(sandboxId);
    if (!sandbox || sandbox.stopped || !sandbox.pid) throw new Error(`sandbox ${sandboxId} is not ready`);
    const id = newId();
    const dir = this.state.containerDir(id);
    mkdirSync(dir, { recursive: true });
    const record: ContainerRecord = {
      id, sandboxId, config, createdAt: Date.now(), startedAt: 0, cgroupsPath: `${sandbox.podCgroup}/${id}`, pid: 0, shimPid: 0, overlay: true,
    };
    this.state.writeContainer(record);
    try {
      await mountRootfs({ image: config.image, containerDir: dir, imageDir: this.state.imageDir(config.image.imageId) });
      const sandboxDir = this.state.sandboxDir(sandboxId);
      const spec = containerSpec({
        config,
        cgroupsPath: record.cgroupsPath,
        host: this.host,
        sandbox: {
          config: sandbox.config, pid: sandbox.pid, hostnameFile: join(sandboxDir, 'hostname'),
          shmPath: sandbox.config.hostIPC ? '/dev/shm' : join(sandboxDir, 'shm'),
        },
      });
      writeJsonAtomic(join(dir, 'bundle', 'config.json'), spec);
      const started = await startShim({
        id, bundle: join(dir, 'bundle'), stateDir: dir, runtime: this.cli.createArgv(), logPath: config.logPath,
        tty: config.tty, stdin: config.stdin, stdinOnce: config.stdinOnce, attachSocket: attachSocketName(id),
        consoleSocket: config.tty ? `/tmp/skiff-console-${id.slice(0, 16)}.sock` : undefined,
        oomControl: oomControlFile(record.cgroupsPath),
      });
      this.state.writeContainer({ ...record, pid: started.pid, shimPid: started.shimPid });
      return id;
    } catch (error) {
      await this.removeContainer(id).catch(() => undefined);
      throw error;
    }
  }

  async startContainer(containerId: string): Promise<void> {
    const record = this.mustRead(containerId);
    // Taken before `start`: a process that exits at once must not finish before it started.
    const startedAt = Date.now();
    await this.cli.runOrThrow(['start', containerId]);
    this.state.writeContainer({ ...record, startedAt });
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    const record = this.mustRead(containerId);
    const dir = this.state.containerDir(containerId);
    if (this.state.readExit(dir) || !record.pid) return;
    // Without its own PID namespace, the container's other processes do not die with its init.
    const allProcesses = this.state.readSandbox(record.sandboxId)?.config.hostPID === true;
    if (timeoutSeconds > 0 && record.startedAt > 0) {
      await this.cli.kill(containerId, 'TERM');
      if (await this.waitForExit({ dir, shimPid: record.shimPid, timeoutMs: timeoutSeconds * 1000 })) return;
    }
    await this.cli.kill(containerId, 'KILL', { all: allProcesses });
    if (await this.waitForExit({ dir, shimPid: record.shimPid, timeoutMs: 30_000 })) return;
    // The shim is gone (killed with the agent's cgroup, say): record what we know.
    if (!shimAlive(record.shimPid) && !this.state.readExit(dir)) {
      const exit: ExitRecord = { exitCode: 137, signal: 9, finishedAt: Date.now(), oomKilled: false };
      writeJsonAtomic(join(dir, 'exit.json'), exit);
    }
  }

  /** Polls for the shim's exit.json; false on timeout or when the shim died without writing it. */
  private async waitForExit(options: { dir: string; shimPid: number; timeoutMs: number }): Promise<boolean> {
    const deadline = Date.now() + options.timeoutMs;
    while (Date.now() < deadline) {
      if (this.state.readExit(options.dir)) return true;
      if (!shimAlive(options.shimPid)) return this.state.readExit(options.dir) !== undefined;
      await sleep(POLL_MS);
    }
    return false;
  }

  async removeContainer(containerId: string): Promise<void> {
    const dir = this.state.containerDir(containerId);
    const record = this.state.readContainer(containerId);
    if (record?.pid && !this.state.readExit(dir)) await this.stopContainer(containerId, 0);
    await this.cli.delete(containerId);
    await unmount(join(dir, 'bundle', 'rootfs'));
    if (record) removeCgroup(record.cgroupsPath);
    rmSync(dir, { recursive: true, force: true });
    this.sandboxOfContainer.delete(containerId);
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    const record = this.mustRead(containerId);
    const exit = this.state.readExit(this.state.containerDir(containerId));
    const { config } = record;
    const status: ContainerStatus = {
      id: record.id, sandboxId: record.sandboxId, name: config.name, attempt: config.attempt, state: 'unknown',
      createdAt: record.createdAt, startedAt: record.startedAt, finishedAt: 0, pid: record.pid || undefined,
      imageId: config.image.imageId, logPath: config.logPath, labels: config.labels ?? {},
    };
    if (exit) return { ...status, ...exitFields(exit), pid: undefined };
    if (!record.pid) return status; // being created (or a create that crashed midway)
    if (shimAlive(record.shimPid) && record.startedAt > 0) return { ...status, state: 'running' };
    const oci = await this.cli.state(containerId);
    if (oci?.status === 'created') return { ...status, state: 'created' };
    if (oci?.status === 'running' || oci?.status === 'paused') {
      // Started by an agent that died before recording it; or running without its shim.
      return { ...status, state: 'running', startedAt: record.startedAt || record.createdAt };
    }
    if (shimAlive(record.shimPid)) return { ...status, state: 'running' }; // exiting: the shim is draining
    // The shim died before the container: the exit code was lost (containerd's "unknown" status).
    return { ...status, state: 'exited', exitCode: 255, reason: 'Unknown', finishedAt: record.startedAt || record.createdAt, pid: undefined };
  }

  async listContainers(filter: { sandboxId?: string; podUid?: string } = {}): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    for (const id of this.state.containerIds()) {
      if (!this.mayBelong(id, filter)) continue;
      const record = this.state.readContainer(id);
      if (!record || (filter.sandboxId && record.sandboxId !== filter.sandboxId)) continue;
      this.sandboxOfContainer.set(id, record.sandboxId);
      if (!this.mayBelong(id, filter)) continue;
      out.push(await this.containerStatus(id));
    }
    return out;
  }

  /** False only when the cached ids show the container is not the filter's (unknown: true). */
  private mayBelong(containerId: string, filter: { sandboxId?: string; podUid?: string }): boolean {
    const sandboxId = this.sandboxOfContainer.get(containerId);
    if (sandboxId === undefined) return true;
    if (filter.sandboxId && sandboxId !== filter.sandboxId) return false;
    if (!filter.podUid) return true;
    let podUid = this.podOfSandbox.get(sandboxId);
    if (podUid === undefined) {
      podUid = this.state.readSandbox(sandboxId)?.config.podUid;
      if (podUid !== undefined) this.podOfSandbox.set(sandboxId, podUid);
    }
    return podUid === undefined || podUid === filter.podUid;
  }

  /** Makes the shim reopen the log file (after the agent rotated it). */
  reopenContainerLog(containerId: string): void {
    const record = this.mustRead(containerId);
    if (shimAlive(record.shimPid)) process.kill(record.shimPid, 'SIGUSR1');
  }

  // ---- exec / attach

  async execSync(containerId: string, options: ExecOptions): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }> {
    await this.mustBeRunning(containerId);
    return execSync({ cli: this.cli, containerId, options });
  }

  async exec(containerId: string, options: ExecOptions): Promise<StreamSession> {
    await this.mustBeRunning(containerId);
    return execStreaming({ cli: this.cli, containerId, options });
  }

  async attach(containerId: string, options: { stdin?: boolean; tty?: boolean }): Promise<StreamSession> {
    await this.mustBeRunning(containerId);
    const record = this.mustRead(containerId);
    return attachToShim({
      socket: attachSocketName(containerId), stdin: options.stdin === true && record.config.stdin === true, tty: record.config.tty === true,
      exitCode: async () => (await this.containerStatus(containerId)).exitCode ?? 0,
    });
  }

  // ---- everything (skiff cleanup)

  /** Kills and deletes every container and sandbox under the root, unmounts everything, removes their cgroups. */
  async cleanupAll(): Promise<void> {
    for (const id of this.state.containerIds()) {
      await this.cli.kill(id, 'KILL', { all: true });
      await this.removeContainer(id);
    }
    for (const id of this.state.sandboxIds()) {
      await this.cli.kill(id, 'KILL', { all: true });
      await this.removePodSandbox(id);
    }
    for (const leftover of await this.cli.list().catch(() => [])) await this.cli.delete(leftover.id);
    removeCgroup(this.cgroupParent);
    rmSync(this.state.root, { recursive: true, force: true });
  }

  private mustRead(containerId: string): ContainerRecord {
    const record = this.state.readContainer(containerId);
    if (!record) throw new Error(`container ${containerId} not found`);
    return record;
  }

  private async mustBeRunning(containerId: string): Promise<void> {
    const status = await this.containerStatus(containerId);
    if (status.state !== 'running') throw new Error(`container ${containerId} is not running (${status.state})`);
  }
}

function exitFields(exit: ExitRecord): Pick<ContainerStatus, 'state' | 'exitCode' | 'reason' | 'finishedAt'> {
  const reason = exit.oomKilled ? 'OOMKilled' : exit.exitCode === 0 ? 'Completed' : 'Error';
  return { state: 'exited', exitCode: exit.exitCode, reason, finishedAt: exit.finishedAt };
}
