// How the OCI runtime binary is invoked: always with skiff's own `--root`
// (so we never see, list or touch containers of other runc users), and for
// crun on this machine's hybrid cgroup layout the `create`/`run` verbs inside
// a private mount namespace with the cgroup2 mount removed (crun 1.8 refuses
// the hybrid layout otherwise; ARCHITECTURE.md §6). Other verbs run plainly.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export type OciRuntimeName = 'runc' | 'crun';

export interface OciState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
}

export class OciCli {
  readonly name: OciRuntimeName;
  readonly root: string;
  private readonly hybridCgroups: boolean;

  constructor(options: { name: OciRuntimeName; root: string }) {
    this.name = options.name;
    this.root = options.root;
    this.hybridCgroups = existsSync('/sys/fs/cgroup/unified') && existsSync('/sys/fs/cgroup/memory');
  }

  /** argv prefix for `create` (what the shim runs). */
  createArgv(): string[] {
    if (this.name === 'crun' && this.hybridCgroups) {
      return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"', 'crun', '--root', this.root];
    }
    return this.argv();
  }

  /** argv prefix for every other verb. */
  argv(): string[] {
    return [this.name, '--root', this.root];
  }

  run(args: string[], options: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string; code: number }> {
    const [cmd, ...rest] = this.argv();
    return new Promise((resolve) => {
      execFile(cmd, [...rest, ...args], { timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      });
    });
  }

  async runOrThrow(args: string[]): Promise<string> {
    const result = await this.run(args);
    if (result.code !== 0) throw new Error(`${this.name} ${args[0]}: ${result.stderr.trim() || `exit status ${result.code}`}`);
    return result.stdout;
  }

  async state(id: string): Promise<OciState | undefined> {
    const result = await this.run(['state', id]);
    if (result.code !== 0) return undefined;
    return JSON.parse(result.stdout) as OciState;
  }

  async list(): Promise<OciState[]> {
    const result = await this.run(['list', '--format', 'json']);
    if (result.code !== 0) throw new Error(`${this.name} list: ${result.stderr.trim()}`);
    const parsed = JSON.parse(result.stdout || 'null') as OciState[] | null;
    return parsed ?? [];
  }

  /** Signal the container's init (or, with `all`, every process in it); a container already gone is not an error. */
  async kill(id: string, signal: 'TERM' | 'KILL', options: { all?: boolean } = {}): Promise<void> {
    await this.run(['kill', ...(options.all ? ['--all'] : []), id, signal]);
  }

  /** `delete --force`; a container the runtime no longer knows is not an error. */
  async delete(id: string): Promise<void> {
    const result = await this.run(['delete', '--force', id]);
    if (result.code !== 0 && !/does not exist|not found|No such file/i.test(result.stderr)) {
      throw new Error(`${this.name} delete ${id}: ${result.stderr.trim()}`);
    }
  }
}
