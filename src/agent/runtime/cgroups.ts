// Pod-level cgroups. runc (cgroupfs driver) places an absolute cgroupsPath
// at that path under the root of every mounted hierarchy (a relative one
// would nest under the caller's own cgroup, which differs between agent
// processes), creating missing parents (and filling cpuset.cpus/mems of the
// ones it creates) but removing only the leaf on `delete`. So the pod's
// directory `<parent>/pod<uid>` is made here with the pod's limits, the
// holder and the containers become its children, and it is removed here.
// Works on cgroup v1 (this machine) and, for the limits, on a v2 unified tree.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerResources } from './types.ts';

const CGROUP_ROOT = '/sys/fs/cgroup';

function isUnified(): boolean {
  return existsSync(join(CGROUP_ROOT, 'cgroup.controllers'));
}

/** Mount points of every cgroup hierarchy (v1: one per controller or name=, and a hybrid host's unified tree; v2: the root). */
export function hierarchies(): string[] {
  if (isUnified()) return [CGROUP_ROOT];
  // Hybrid hosts: runc also places containers in the cgroup2 tree at /sys/fs/cgroup/unified.
  return readdirSync(CGROUP_ROOT)
    .map((name) => join(CGROUP_ROOT, name))
    .filter((dir) => {
      try {
        return statSync(dir).isDirectory() && existsSync(join(dir, 'cgroup.procs'));
      } catch {
        return false;
      }
    });
}

function hierarchy(controller: string): string {
  return isUnified() ? CGROUP_ROOT : join(CGROUP_ROOT, controller);
}

/** Where the memory cgroup reports OOM kills (`oom_kill N` in both files). */
export function oomControlFile(cgroupsPath: string): string {
  return isUnified() ? join(CGROUP_ROOT, cgroupsPath, 'memory.events') : join(CGROUP_ROOT, 'memory', cgroupsPath, 'memory.oom_control');
}

export function createPodCgroup(options: { path: string; resources?: ContainerResources }): void {
  const { path, resources } = options;
  for (const controller of ['memory', 'cpu', 'cpuacct', 'pids']) {
    const base = hierarchy(controller);
    if (existsSync(base)) mkdirSync(join(base, path), { recursive: true });
  }
  const write = (controller: string, file: string, value: number | string) => writeFileSync(join(hierarchy(controller), path, file), String(value));
  if (isUnified()) {
    if (resources?.memoryLimitBytes !== undefined) write('memory', 'memory.max', resources.memoryLimitBytes);
    if (resources?.cpuQuotaMicros !== undefined) write('cpu', 'cpu.max', `${resources.cpuQuotaMicros} ${resources.cpuPeriodMicros ?? 100_000}`);
    return;
  }
  if (resources?.memoryLimitBytes !== undefined) write('memory', 'memory.limit_in_bytes', resources.memoryLimitBytes);
  if (resources?.cpuShares !== undefined) write('cpu', 'cpu.shares', resources.cpuShares);
  if (resources?.cpuQuotaMicros !== undefined) {
    write('cpu', 'cpu.cfs_period_us', resources.cpuPeriodMicros ?? 100_000);
    write('cpu', 'cpu.cfs_quota_us', resources.cpuQuotaMicros);
  }
}

/** Removes `path` (and any empty cgroups left below it) from every hierarchy; returns what could not be removed. */
export function removeCgroup(path: string): string[] {
  const left: string[] = [];
  for (const base of hierarchies()) {
    const dir = join(base, path);
    if (existsSync(dir) && !removeTree(dir)) left.push(dir);
  }
  return left;
}

function removeTree(dir: string): boolean {
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) removeTree(join(dir, entry.name));
    }
    rmdirSync(dir);
    return true;
  } catch (error) {
    // Gone already (runc, or another cleanup, removed it in the meantime): that is what was wanted.
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Measured facts the OCI spec depends on (see HostFacts in oci-spec.ts). */
export function hostFacts(): { oomScoreAdjFloor: number; swapAccounting: boolean } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const effective = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status)?.[1] ?? '0'}`);
  const canLower = (effective & (1n << 24n)) !== 0n; // CAP_SYS_RESOURCE
  const own = Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim());
  return {
    oomScoreAdjFloor: canLower ? -1000 : own,
    swapAccounting: isUnified() || existsSync(join(CGROUP_ROOT, 'memory', 'memory.memsw.limit_in_bytes')),
  };
}

/** Pids still in a cgroup (memory hierarchy), for diagnostics and cleanup. */
export function cgroupPids(path: string): number[] {
  try {
    return readFileSync(join(hierarchy('memory'), path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
