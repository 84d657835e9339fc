// The node's resource usage at one instant — the node, every running pod (its
// pod cgroup, which includes the sandbox holder, as the kubelet's pod cgroup
// includes pause) and every running container — and a small ring of recent
// samples to turn cumulative CPU time into a rate (nanocores), as cAdvisor
// keeps a short history for the kubelet's summary API.
//
// Sampling is on demand with a floor: a request within `minIntervalMs` of the
// last sample reuses it, so scrapes by several clients cost one read of the
// cgroups. A timer (`intervalMs`, default 10 s) may keep the ring filled so a
// rate is ready when someone asks; it is off unless `start()` is called.
import { readFile } from 'node:fs/promises';
import { CONTAINER_NAME } from '../kubelet/labels.ts';
import type { ContainerRuntime } from '../runtime/types.ts';
import { CgroupReader, nodeCpuNsFromProcStat, nodeMemoryFromMeminfo, type CgroupUsage } from './cgroup.ts';

export interface ContainerSample {
  name: string;
  id: string;
  /** Milliseconds since the epoch. */
  startedAt: number;
  usage: CgroupUsage;
}

export interface PodSample {
  uid: string;
  name: string;
  namespace: string;
  cgroupsPath: string;
  /** The pod cgroup as a whole (undefined when it could not be read). */
  usage?: CgroupUsage;
  containers: ContainerSample[];
}

export interface NodeSample {
  cpuUsageNs?: number;
  memoryWorkingSetBytes?: number;
  memoryUsageBytes?: number;
}

export interface StatsSample {
  timestampMs: number;
  node: NodeSample;
  pods: PodSample[];
  /** Containers whose cgroup could not be read although the runtime says they run. */
  errors: number;
}

export interface StatsSource {
  /** A sample no older than `maxAgeMs` (default the collector's minimum interval). */
  sample(options?: { maxAgeMs?: number }): Promise<StatsSample>;
  /** Samples kept, oldest first. */
  history(): readonly StatsSample[];
}

export interface CollectorOptions {
  runtime: Pick<ContainerRuntime, 'listPodSandboxes' | 'listContainers'>;
  /** The runtime's cgroup parent (RuncRuntime's default /skiff). */
  cgroupParent?: string;
  cgroups?: CgroupReader;
  /** Reuse a sample younger than this (default 1 s). */
  minIntervalMs?: number;
  /** Background sampling period once started (default 10 s). */
  intervalMs?: number;
  /** Samples kept (default 8). */
  ringSize?: number;
  procRoot?: string;
  now?: () => number;
}

/** The cgroupsPath RuncRuntime gives a pod sandbox (see ../runtime/runc.ts). */
export function podCgroupsPath(parent: string, podUid: string, sandboxId: string): string {
  return `${parent}/pod${podUid}-${sandboxId.slice(0, 12)}`;
}

export class StatsCollector implements StatsSource {
  private readonly o: CollectorOptions;
  private readonly cgroups: CgroupReader;
  private readonly ring: StatsSample[] = [];
  private pending: Promise<StatsSample> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: CollectorOptions) {
    this.o = options;
    this.cgroups = options.cgroups ?? new CgroupReader();
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  history(): readonly StatsSample[] {
    return this.ring;
  }

  async sample(options: { maxAgeMs?: number } = {}): Promise<StatsSample> {
    const maxAge = options.maxAgeMs ?? this.o.minIntervalMs ?? 1000;
    const latest = this.ring.at(-1);
    if (latest && this.now() - latest.timestampMs < maxAge) return latest;
    // Concurrent callers share one read.
    this.pending ??= this.collect().finally(() => { this.pending = undefined; });
    return this.pending;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sample().catch(() => undefined), this.o.intervalMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async collect(): Promise<StatsSample> {
    const parent = this.o.cgroupParent ?? '/skiff';
    const [sandboxes, containers] = await Promise.all([this.o.runtime.listPodSandboxes(), this.o.runtime.listContainers()]);
    const timestampMs = this.now();
    let errors = 0;
    const pods: PodSample[] = [];
    for (const sandbox of sandboxes) {
      if (sandbox.state !== 'ready') continue;
      const cgroupsPath = podCgroupsPath(parent, sandbox.podUid, sandbox.id);
      const pod: PodSample = { uid: sandbox.podUid, name: sandbox.name, namespace: sandbox.namespace, cgroupsPath, usage: await this.cgroups.usage(cgroupsPath), containers: [] };
      for (const c of containers) {
        if (c.sandboxId !== sandbox.id || c.state !== 'running') continue;
        const usage = await this.cgroups.usage(`${cgroupsPath}/${c.id}`);
        if (!usage) {
          errors++;
          continue;
        }
        pod.containers.push({ name: c.labels[CONTAINER_NAME] ?? c.name, id: c.id, startedAt: c.startedAt, usage });
      }
      pods.push(pod);
    }
    const sample: StatsSample = { timestampMs, node: await this.nodeUsage(), pods, errors };
    this.ring.push(sample);
    if (this.ring.length > (this.o.ringSize ?? 8)) this.ring.shift();
    return sample;
  }

  /** v1: the root cgroup (what the kubelet reports); v2 (no root files): /proc/stat and /proc/meminfo. */
  private async nodeUsage(): Promise<NodeSample> {
    if (!this.cgroups.unified) {
      const root = await this.cgroups.usage('/');
      if (root) return { cpuUsageNs: root.cpuUsageNs, memoryWorkingSetBytes: root.memoryWorkingSetBytes, memoryUsageBytes: root.memoryUsageBytes };
    }
    const proc = this.o.procRoot ?? '/proc';
    const [stat, meminfo] = await Promise.all([readFile(`${proc}/stat`, 'utf8').catch(() => ''), readFile(`${proc}/meminfo`, 'utf8').catch(() => '')]);
    const memory = nodeMemoryFromMeminfo(meminfo);
    return { cpuUsageNs: nodeCpuNsFromProcStat(stat), memoryWorkingSetBytes: memory?.workingSetBytes, memoryUsageBytes: memory?.workingSetBytes };
  }
}

/** CPU rate in nanocores between two cumulative readings (undefined when time did not advance or the counter went back: a restart). */
export function cpuNanoCores(older: { cpuUsageNs: number; timestampMs: number }, newer: { cpuUsageNs: number; timestampMs: number }): number | undefined {
  const elapsedNs = (newer.timestampMs - older.timestampMs) * 1e6;
  const used = newer.cpuUsageNs - older.cpuUsageNs;
  if (elapsedNs <= 0 || used < 0) return undefined;
  return Math.round((used / elapsedNs) * 1e9);
}

/**
 * The sample to compute rates against: the newest one at least `minWindowMs`
 * older than `latest` (a window too short is noisy), else the oldest kept.
 */
export function baselineFor(history: readonly StatsSample[], latest: StatsSample, minWindowMs: number): StatsSample | undefined {
  const older = history.filter((s) => s.timestampMs < latest.timestampMs);
  for (let i = older.length - 1; i >= 0; i--) if (latest.timestampMs - older[i]!.timestampMs >= minWindowMs) return older[i];
  return older[0];
}
