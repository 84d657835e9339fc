// What the eviction manager measures (cAdvisor's and the CRI stats' job
// upstream). Node signals:
//   memory.available  = MemTotal − the root memory cgroup's working set
//                       (usage_in_bytes − total_inactive_file, as kubelet on
//                       Linux); /proc/meminfo MemAvailable when the root
//                       cgroup cannot be read (a cgroup v2 host)
//   nodefs.*          = statfs of the data dir (available to unprivileged users, free inodes)
//   imagefs.*         = statfs of the image store's directory (the same filesystem here, usually)
//   pid.available     = min(kernel.pid_max, kernel.threads-max) − the tasks in use (/proc/loadavg)
// Pod usage, read only when a pod must be chosen: the working set of each
// container's memory cgroup (`<parent>/pod<uid>-<sandbox>/<container id>`,
// see ../runtime/cgroups.ts), the pod cgroup's pids.current, and for
// ephemeral storage the pod's log files plus its directory (emptyDir,
// etc-hosts …) on the node filesystem.
import { lstat, readdir, readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../../../client/interface.ts';
import type { ContainerRuntime } from '../../runtime/types.ts';
import { CONTAINER_NAME, POD_UID } from '../labels.ts';
import { parseMeminfo } from '../machine.ts';
import { podDir, podLogDir } from '../paths.ts';
import type { Signal } from './thresholds.ts';

export interface SignalObservation {
  available: number;
  capacity: number;
}

export type Observations = Partial<Record<Signal, SignalObservation>>;

export interface ContainerUsage {
  name: string;
  memoryBytes: number;
  storageBytes: number;
}

export interface PodUsage {
  memoryBytes: number;
  storageBytes: number;
  processes: number;
  containers: ContainerUsage[];
}

/** The eviction manager's view of the machine; tests pass fakes. */
export interface EvictionStats {
  node(): Promise<Observations>;
  /** Usage of these pods by uid (a pod missing from the map uses nothing measurable). */
  pods(pods: readonly KubeObject[]): Promise<Map<string, PodUsage>>;
}

const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined);

/** A memory cgroup's (v1) working set, as cAdvisor: usage minus the inactive file cache. */
export function workingSet(usageText: string, statText: string): number {
  const usage = Number(usageText.trim());
  const inactive = Number(/^total_inactive_file (\d+)$/m.exec(statText)?.[1] ?? /^inactive_file (\d+)$/m.exec(statText)?.[1] ?? 0);
  return Math.max(0, usage - inactive);
}

async function cgroupWorkingSet(dir: string): Promise<number | undefined> {
  const [usage, stat] = await Promise.all([readText(join(dir, 'memory.usage_in_bytes')), readText(join(dir, 'memory.stat'))]);
  return usage === undefined || stat === undefined ? undefined : workingSet(usage, stat);
}

/** Tasks in use from /proc/loadavg ("0.1 0.2 0.3 2/345 6789": 345). */
export function tasksInUse(loadavg: string): number | undefined {
  const m = /\s\d+\/(\d+)\s/.exec(loadavg);
  return m ? Number(m[1]) : undefined;
}

/** Bytes under `dir` on its own filesystem (mount points below it are not entered, symlinks not followed). */
export async function diskUsage(dir: string): Promise<number> {
  let root;
  try {
    root = await lstat(dir);
  } catch {
    return 0;
  }
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(path, entry.name);
      const info = await lstat(full).catch(() => undefined);
      if (!info || info.dev !== root.dev) continue;
      total += info.blocks * 512;
      if (info.isDirectory()) await walk(full);
    }
  };
  if (root.isDirectory()) await walk(dir);
  return total + root.blocks * 512;
}

export interface HostStatsOptions {
  dataDir: string;
  /** The image store's directory (imagefs); default the data dir. */
  imageDir?: string;
  runtime: ContainerRuntime;
  /** Default /sys/fs/cgroup. */
  cgroupRoot?: string;
  /** The runtime's cgroup parent (RuncRuntime's default /skiff). */
  cgroupParent?: string;
}

/** The machine's real numbers, from /proc, statfs and the cgroup v1 memory and pids hierarchies. */
export function hostEvictionStats(options: HostStatsOptions): EvictionStats {
  const cgroupRoot = options.cgroupRoot ?? '/sys/fs/cgroup';
  const parent = options.cgroupParent ?? '/skiff';
  const fsSignals = async (path: string, prefix: 'nodefs' | 'imagefs'): Promise<Observations> => {
    const fs = await statfs(path);
    return {
      [`${prefix}.available`]: { available: fs.bavail * fs.bsize, capacity: fs.blocks * fs.bsize },
      [`${prefix}.inodesFree`]: { available: fs.ffree, capacity: fs.files },
    };
  };
  /** pod uid → its pod cgroup directory name in the memory hierarchy. */
  const podCgroups = async (): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    for (const name of await readdir(join(cgroupRoot, 'memory', parent)).catch(() => [] as string[])) {
      const m = /^pod(.+)-[^-]+$/.exec(name);
      if (m) out.set(m[1]!, name);
    }
    return out;
  };
  return {
    async node() {
      const meminfo = parseMeminfo((await readText('/proc/meminfo')) ?? '');
      const total = meminfo.get('MemTotal') ?? 0;
      const rootWorkingSet = await cgroupWorkingSet(join(cgroupRoot, 'memory'));
      const memoryAvailable = rootWorkingSet !== undefined ? total - rootWorkingSet : meminfo.get('MemAvailable') ?? 0;
      const pidMax = Number((await readText('/proc/sys/kernel/pid_max'))?.trim() ?? 0);
      const threadsMax = Number((await readText('/proc/sys/kernel/threads-max'))?.trim() ?? 0);
      const maxPids = Math.min(...[pidMax, threadsMax].filter((n) => n > 0));
      const inUse = tasksInUse((await readText('/proc/loadavg')) ?? '');
      return {
        'memory.available': { available: memoryAvailable, capacity: total },
        ...(await fsSignals(options.dataDir, 'nodefs')),
        ...(await fsSignals(options.imageDir ?? options.dataDir, 'imagefs')),
        ...(Number.isFinite(maxPids) && inUse !== undefined ? { 'pid.available': { available: maxPids - inUse, capacity: maxPids } } : {}),
      };
    },
    async pods(pods) {
      const cgroups = await podCgroups();
      const containers = await options.runtime.listContainers();
      const out = new Map<string, PodUsage>();
      for (const pod of pods) {
        const uid = pod.metadata.uid ?? '';
        const cgroup = cgroups.get(uid);
        const usage: PodUsage = { memoryBytes: 0, storageBytes: 0, processes: 0, containers: [] };
        for (const c of containers) {
          if (c.labels[POD_UID] !== uid) continue;
          const name = c.labels[CONTAINER_NAME] ?? c.name;
          const memoryBytes = c.state === 'running' && cgroup ? (await cgroupWorkingSet(join(cgroupRoot, 'memory', parent, cgroup, c.id))) ?? 0 : 0;
          const storageBytes = await diskUsage(join(podLogDir(options.dataDir, pod), name));
          const known = usage.containers.find((x) => x.name === name);
          // Every attempt's logs count; only a running attempt has memory.
          if (known) {
            known.memoryBytes += memoryBytes;
            known.storageBytes += storageBytes;
          } else {
            usage.containers.push({ name, memoryBytes, storageBytes });
          }
          usage.memoryBytes += memoryBytes;
          usage.storageBytes += storageBytes;
        }
        usage.storageBytes += await diskUsage(podDir(options.dataDir, uid));
        if (cgroup) usage.processes = Number((await readText(join(cgroupRoot, 'pids', parent, cgroup, 'pids.current')))?.trim() ?? 0) || 0;
        out.set(uid, usage);
      }
      return out;
    },
  };
}

/**
 * Signals from a MachineInfo (memory and the node filesystem only) and no
 * pod usage: what the kubelet measures when tests give it a fake machine.
 */
export function machineEvictionStats(machine: () => Promise<{ memoryBytes: number; memoryAvailableBytes: number; storageBytes: number; storageAvailableBytes: number }>): EvictionStats {
  return {
    async node() {
      const m = await machine();
      const disk = { available: m.storageAvailableBytes, capacity: m.storageBytes };
      return { 'memory.available': { available: m.memoryAvailableBytes, capacity: m.memoryBytes }, 'nodefs.available': disk, 'imagefs.available': disk };
    },
    async pods() {
      return new Map();
    },
  };
}
