// What the kubelet measures on its machine (cAdvisor's job upstream): CPUs,
// memory from /proc/meminfo, the data dir's filesystem, the kernel, the OS
// image from /etc/os-release, machine/boot ids.
import { readFile, statfs } from 'node:fs/promises';
import { availableParallelism, arch, release } from 'node:os';

export interface MachineInfo {
  cpus: number;
  memoryBytes: number;
  /** MemAvailable: what the eviction manager compares with memory.available. */
  memoryAvailableBytes: number;
  storageBytes: number;
  storageAvailableBytes: number;
  kernelVersion: string;
  osImage: string;
  machineId: string;
  systemUuid: string;
  bootId: string;
  architecture: string;
}

/** Values of /proc/meminfo in bytes. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (line.includes('kB') ? 1024 : 1));
  }
  return out;
}

/** PRETTY_NAME of os-release ("Debian GNU/Linux 12 (bookworm)"). */
export function parseOsRelease(text: string): string | undefined {
  const m = /^PRETTY_NAME=(.*)$/m.exec(text);
  if (!m) return undefined;
  return m[1]!.trim().replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
}

/** Go's GOARCH names for Node's. */
export function goArch(nodeArch: string): string {
  return ({ x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[nodeArch] ?? nodeArch;
}

const readOr = (path: string, fallback: string) => readFile(path, 'utf8').then((t) => t.trim()).catch(() => fallback);

export async function readMachineInfo(options: { dataDir: string }): Promise<MachineInfo> {
  const meminfo = parseMeminfo(await readOr('/proc/meminfo', ''));
  const fs = await statfs(options.dataDir);
  const osRelease = await readOr('/etc/os-release', '');
  return {
    cpus: availableParallelism(),
    memoryBytes: meminfo.get('MemTotal') ?? 0,
    memoryAvailableBytes: meminfo.get('MemAvailable') ?? meminfo.get('MemFree') ?? 0,
    storageBytes: fs.blocks * fs.bsize,
    storageAvailableBytes: fs.bavail * fs.bsize,
    kernelVersion: release(),
    osImage: parseOsRelease(osRelease) ?? 'Linux',
    machineId: await readOr('/etc/machine-id', ''),
    systemUuid: (await readOr('/sys/class/dmi/id/product_uuid', '')).toLowerCase(),
    bootId: await readOr('/proc/sys/kernel/random/boot_id', ''),
    architecture: goArch(arch()),
  };
}
