// What the node costs with N pods running: the server process (API server,
// scheduler, controllers and the local agent share it) and the runtime's
// per-container Python shims, found through the runtime's own records
// (DATA/runtime/{sandboxes,containers}/*/…json carry `shimPid`).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryOf } from '../lib/server.ts';

const CLOCK_TICKS = 100; // USER_HZ

/**
 * CPU seconds of a process plus its children it has waited for (utime, stime,
 * cutime, cstime of /proc/PID/stat): for the server that includes every `ip`,
 * `mount` and `runc` it ran; for a shim, the `runc create` it ran. Processes
 * not yet reaped (running containers) are not in it.
 */
export function cpuSecondsWithChildren(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

export interface ShimUsage {
  count: number;
  /** Sum of VmRSS (counts the shared interpreter pages once per shim). */
  rssMiB: number;
  /** Sum of Pss (shared pages divided among the processes sharing them). */
  pssMiB: number;
  /** CPU seconds the live shims used since they started, with the `runc create` each ran. */
  cpuSeconds: number;
}

export interface NodeUsage {
  serverRssMiB: number;
  serverPeakRssMiB: number;
  shims: ShimUsage;
}

function kiBField(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The shim pids the runtime recorded for sandboxes (holders) and containers, still alive as shims. */
export function shimPids(runtimeRoot: string): number[] {
  const pids: number[] = [];
  for (const [kind, file] of [['sandboxes', 'sandbox.json'], ['containers', 'container.json']] as const) {
    let ids: string[] = [];
    try {
      ids = readdirSync(join(runtimeRoot, kind));
    } catch {
      continue;
    }
    for (const id of ids) {
      try {
        const record = JSON.parse(readFileSync(join(runtimeRoot, kind, id, file), 'utf8')) as { shimPid?: number };
        // A recorded pid may be gone or reused: count it only while it is one of our shims.
        if (record.shimPid && readFileSync(`/proc/${record.shimPid}/cmdline`, 'utf8').includes('container_shim.py')) pids.push(record.shimPid);
      } catch {
        // half-written record or exited shim: not running
      }
    }
  }
  return pids;
}

export function shimUsage(runtimeRoot: string): ShimUsage {
  const usage: ShimUsage = { count: 0, rssMiB: 0, pssMiB: 0, cpuSeconds: 0 };
  for (const pid of shimPids(runtimeRoot)) {
    try {
      const rss = kiBField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS') ?? 0;
      const pss = kiBField(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss') ?? 0;
      usage.cpuSeconds += cpuSecondsWithChildren(pid);
      usage.rssMiB += rss / 1024;
      usage.pssMiB += pss / 1024;
      usage.count++;
    } catch {
      // exited meanwhile
    }
  }
  return usage;
}

export function nodeUsage(options: { serverPid: number; runtimeRoot: string }): NodeUsage {
  const server = memoryOf(options.serverPid);
  return { serverRssMiB: server.rssMiB, serverPeakRssMiB: server.hwmMiB, shims: shimUsage(options.runtimeRoot) };
}
