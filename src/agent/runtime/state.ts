// The runtime's own record of what it made, under ROOT (e.g. DATA/runtime),
// so that a new agent process can list and adopt sandboxes and containers:
//   ROOT/oci/                        the runtime's --root (runc/crun state; only ours)
//   ROOT/sandboxes/<id>/sandbox.json  SandboxRecord; bundle/, hostname, shm/ (the pod's /dev/shm)
//   ROOT/containers/<id>/container.json ContainerRecord; bundle/ (config.json, rootfs/ = the
//                                     overlay mount), upper/, work/, shim.json (the shim's
//                                     input), exit.json (written by the shim), shim.log
//   ROOT/images/<imageId hex>/        flattened 'plain' images (one copy per image)
// Every write is a temp file + rename, so a crash never leaves half a record.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerConfig, PodSandboxConfig } from './types.ts';

export interface SandboxRecord {
  id: string;
  config: PodSandboxConfig;
  createdAt: number;
  /** Absolute cgroup path of the pod (parent of the holder's and every container's cgroup). */
  podCgroup: string;
  /** The holder's pid (host view) and its shim's; 0 once stopped. */
  pid: number;
  shimPid: number;
  stopped: boolean;
}

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  config: ContainerConfig;
  createdAt: number;
  startedAt: number;
  cgroupsPath: string;
  pid: number;
  shimPid: number;
  /** When the rootfs is an overlay mount we made (unmounted on remove). */
  overlay: boolean;
}

export interface ExitRecord {
  exitCode: number;
  signal: number;
  finishedAt: number;
  oomKilled: boolean;
}

export function newId(): string {
  return randomBytes(32).toString('hex');
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 1));
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export class RuntimeState {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
    for (const dir of [this.ociRoot, join(root, 'sandboxes'), join(root, 'containers'), join(root, 'images')]) mkdirSync(dir, { recursive: true });
  }

  get ociRoot(): string {
    return join(this.root, 'oci');
  }

  sandboxDir(id: string): string {
    return join(this.root, 'sandboxes', id);
  }

  containerDir(id: string): string {
    return join(this.root, 'containers', id);
  }

  imageDir(imageId: string): string {
    return join(this.root, 'images', imageId.replace(/^sha256:/, ''));
  }

  sandboxIds(): string[] {
    return listDirs(join(this.root, 'sandboxes'));
  }

  containerIds(): string[] {
    return listDirs(join(this.root, 'containers'));
  }

  readSandbox(id: string): SandboxRecord | undefined {
    return readJson<SandboxRecord>(join(this.sandboxDir(id), 'sandbox.json'));
  }

  writeSandbox(record: SandboxRecord): void {
    writeJsonAtomic(join(this.sandboxDir(record.id), 'sandbox.json'), record);
  }

  readContainer(id: string): ContainerRecord | undefined {
    return readJson<ContainerRecord>(join(this.containerDir(id), 'container.json'));
  }

  writeContainer(record: ContainerRecord): void {
    writeJsonAtomic(join(this.containerDir(record.id), 'container.json'), record);
  }

  readExit(dir: string): ExitRecord | undefined {
    return readJson<ExitRecord>(join(dir, 'exit.json'));
  }
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}
