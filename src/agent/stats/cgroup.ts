// Reading CPU and memory usage out of cgroups, as cAdvisor does for the
// kubelet. The layout is the runtime's (../runtime/cgroups.ts): an absolute
// cgroupsPath such as `/skiff/pod<uid>-<sandbox>/<container id>` sits at that
// path under the root of every hierarchy — on cgroup v1 (this machine) one
// mount per controller (`cpuacct/…`, `memory/…`), on a v2 unified tree
// directly under the root.
//
// What is read, and why these files:
//   CPU    v1 cpuacct.usage (cumulative ns, all CPUs); v2 cpu.stat usage_usec × 1000.
//   memory usage v1 memory.usage_in_bytes, v2 memory.current; working set =
//          usage − inactive file pages (v1 `total_inactive_file` — the hierarchical
//          count — else `inactive_file`; v2 `inactive_file`), never below 0: the
//          number the kubelet and metrics-server report and the OOM killer roughly
//          sees. RSS and cache come from memory.stat too (cAdvisor's extra series).
// The parsing functions are pure (tests feed them fixture files); `CgroupReader`
// does the file I/O, and a file that cannot be read means "no sample" (a
// container that just exited), never an error.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CgroupUsage {
  /** Cumulative CPU time of every task in the cgroup, in nanoseconds. */
  cpuUsageNs: number;
  memoryUsageBytes: number;
  memoryWorkingSetBytes: number;
  memoryRssBytes: number;
  memoryCacheBytes: number;
}

/** `key value` lines (memory.stat, cpu.stat, /proc/meminfo without units) as a map. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):?\s+(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Working set as cAdvisor computes it: usage minus inactive file cache, floored at 0. */
export function workingSetBytes(usage: number, stat: Map<string, number>): number {
  const inactive = stat.get('total_inactive_file') ?? stat.get('inactive_file') ?? 0;
  return Math.max(0, usage - inactive);
}

/** cgroup v1: cpuacct.usage, memory.usage_in_bytes and memory.stat contents. */
export function usageFromV1(files: { cpuacctUsage: string; memoryUsage: string; memoryStat: string }): CgroupUsage {
  const stat = parseKeyValues(files.memoryStat);
  const usage = Number(files.memoryUsage.trim());
  return {
    cpuUsageNs: Number(files.cpuacctUsage.trim()),
    memoryUsageBytes: usage,
    memoryWorkingSetBytes: workingSetBytes(usage, stat),
    memoryRssBytes: stat.get('total_rss') ?? stat.get('rss') ?? 0,
    memoryCacheBytes: stat.get('total_cache') ?? stat.get('cache') ?? 0,
  };
}

/** cgroup v2: cpu.stat, memory.current and memory.stat contents. */
export function usageFromV2(files: { cpuStat: string; memoryCurrent: string; memoryStat: string }): CgroupUsage {
  const stat = parseKeyValues(files.memoryStat);
  const usage = Number(files.memoryCurrent.trim());
  return {
    cpuUsageNs: (parseKeyValues(files.cpuStat).get('usage_usec') ?? 0) * 1000,
    memoryUsageBytes: usage,
    memoryWorkingSetBytes: workingSetBytes(usage, stat),
    memoryRssBytes: stat.get('anon') ?? 0,
    memoryCacheBytes: stat.get('file') ?? 0,
  };
}

/**
 * Cumulative busy CPU time of the whole machine from /proc/stat's `cpu` line
 * (user nice system idle iowait irq softirq steal …, in USER_HZ ticks): all
 * but idle and iowait, in nanoseconds. Used where the root cgroup has no
 * cpuacct.usage (a v2 host).
 */
export function nodeCpuNsFromProcStat(text: string, ticksPerSecond = 100): number | undefined {
  const m = /^cpu\s+(.*)$/m.exec(text);
  if (!m) return undefined;
  const fields = m[1]!.trim().split(/\s+/).map(Number);
  // guest and guest_nice (fields 8, 9) are already counted in user and nice.
  const busy = fields.slice(0, 8).reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0);
  return Math.round((busy / ticksPerSecond) * 1e9);
}

/** The node's memory working set from /proc/meminfo (kB): total minus available. */
export function nodeMemoryFromMeminfo(text: string): { totalBytes: number; workingSetBytes: number } | undefined {
  const info = parseKeyValues(text);
  const total = info.get('MemTotal');
  const available = info.get('MemAvailable');
  if (total === undefined || available === undefined) return undefined;
  return { totalBytes: total * 1024, workingSetBytes: Math.max(0, (total - available) * 1024) };
}

const readText = (path: string): Promise<string | undefined> => readFile(path, 'utf8').catch(() => undefined);

/** Reads one cgroup's usage by its absolute cgroupsPath ('/' = the root). */
export class CgroupReader {
  readonly root: string;
  readonly unified: boolean;

  constructor(options: { root?: string; unified?: boolean } = {}) {
    this.root = options.root ?? '/sys/fs/cgroup';
    this.unified = options.unified ?? existsSync(join(this.root, 'cgroup.controllers'));
  }

  /** undefined when the cgroup (or one of its files) is gone. */
  async usage(cgroupsPath: string): Promise<CgroupUsage | undefined> {
    if (this.unified) {
      const dir = join(this.root, cgroupsPath);
      const [cpuStat, memoryCurrent, memoryStat] = await Promise.all([readText(join(dir, 'cpu.stat')), readText(join(dir, 'memory.current')), readText(join(dir, 'memory.stat'))]);
      if (cpuStat === undefined || memoryStat === undefined) return undefined;
      // The v2 root has no memory.current: the caller falls back to /proc/meminfo for the node.
      return usageFromV2({ cpuStat, memoryCurrent: memoryCurrent ?? '0', memoryStat });
    }
    const [cpuacctUsage, memoryUsage, memoryStat] = await Promise.all([
      readText(join(this.root, 'cpuacct', cgroupsPath, 'cpuacct.usage')),
      readText(join(this.root, 'memory', cgroupsPath, 'memory.usage_in_bytes')),
      readText(join(this.root, 'memory', cgroupsPath, 'memory.stat')),
    ]);
    if (cpuacctUsage === undefined || memoryUsage === undefined || memoryStat === undefined) return undefined;
    return usageFromV1({ cpuacctUsage, memoryUsage, memoryStat });
  }
}
