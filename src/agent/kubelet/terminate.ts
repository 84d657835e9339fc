// Stopping containers and pods as kubelet does: the preStop hook within the
// grace period, then SIGTERM and, after what remains of it (at least 2 s),
// SIGKILL — app containers together, then sidecars in reverse order — and
// releasing what the pod held (sandbox, network, volumes, files).
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerStatus } from '../runtime/types.ts';
import { recordPodEvent, type KubeletContext, type PodRecord } from './context.ts';
import { runLifecycleHook } from './hooks.ts';
import { CONTAINER_NAME } from './labels.ts';
import { podDir, podLogDir } from './paths.ts';
import { formatPod, isSidecar, specOf, type ContainerSpec } from './pod-types.ts';

/** kubelet's minimumGracePeriodInSeconds: what SIGTERM gets after a preStop hook used up the grace period. */
const MINIMUM_GRACE_SECONDS = 2;

export function fieldPathOf(record: PodRecord, name: string): string {
  const spec = specOf(record.pod);
  return (spec.initContainers ?? []).some((c) => c.name === name) ? `spec.initContainers{${name}}` : `spec.containers{${name}}`;
}

export function containerSpecOf(record: PodRecord, name: string): ContainerSpec | undefined {
  const spec = specOf(record.pod);
  return [...(spec.containers ?? []), ...(spec.initContainers ?? [])].find((c) => c.name === name);
}

/** The grace period of a pod being deleted (or stopped for another reason). */
export function podGracePeriodSeconds(record: PodRecord): number {
  const deletion = record.pod.metadata.deletionGracePeriodSeconds;
  if (typeof deletion === 'number') return deletion;
  return specOf(record.pod).terminationGracePeriodSeconds ?? 30;
}

export async function killContainer(options: { ctx: KubeletContext; record: PodRecord; container: ContainerStatus; gracePeriodSeconds: number; message?: string; runPreStop?: boolean }): Promise<void> {
  const { ctx, record, container } = options;
  const name = container.labels[CONTAINER_NAME] ?? container.name;
  const spec = containerSpecOf(record, name);
  recordPodEvent(ctx, { pod: record.pod, type: 'Normal', reason: 'Killing', message: options.message ?? `Stopping container ${name}`, fieldPath: fieldPathOf(record, name) });
  let grace = options.gracePeriodSeconds;
  const preStop = spec?.lifecycle?.preStop;
  if (preStop && options.runPreStop !== false && grace > 0) {
    const started = ctx.now().getTime();
    const controller = new AbortController();
    const hook = runLifecycleHook(preStop, {
      runtime: ctx.runtime, containerId: container.id, container: spec!, podIp: record.podIps[0] ?? ctx.node.hostIp, podName: formatPod(record.pod), timeoutSeconds: grace, signal: controller.signal,
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => { timer = setTimeout(() => resolve(`PreStopHook timed out after ${grace}s`), grace * 1000); });
    const failure = await Promise.race([hook, timeout]);
    clearTimeout(timer);
    controller.abort();
    if (failure) recordPodEvent(ctx, { pod: record.pod, type: 'Warning', reason: 'FailedPreStopHook', message: failure, fieldPath: fieldPathOf(record, name) });
    grace = Math.max(MINIMUM_GRACE_SECONDS, grace - Math.ceil((ctx.now().getTime() - started) / 1000));
  }
  await ctx.runtime.stopContainer(container.id, grace);
}

/**
 * Stops every running container of the pod: app containers at once, then
 * sidecars one by one in reverse order, each within the grace period.
 */
export async function killPod(options: { ctx: KubeletContext; record: PodRecord; containers: ContainerStatus[]; gracePeriodSeconds: number }): Promise<void> {
  const { ctx, record, gracePeriodSeconds } = options;
  const running = options.containers.filter((c) => c.state === 'running' || c.state === 'created');
  const sidecarOrder = (specOf(record.pod).initContainers ?? []).filter(isSidecar).map((c) => c.name);
  const isSidecarContainer = (c: ContainerStatus) => sidecarOrder.includes(c.labels[CONTAINER_NAME] ?? c.name);
  const started = ctx.now().getTime();
  await Promise.all(running.filter((c) => !isSidecarContainer(c)).map((container) => killContainer({ ctx, record, container, gracePeriodSeconds })));
  const sidecars = running.filter(isSidecarContainer).sort((a, b) => sidecarOrder.indexOf(b.labels[CONTAINER_NAME] ?? b.name) - sidecarOrder.indexOf(a.labels[CONTAINER_NAME] ?? a.name));
  for (const container of sidecars) {
    const left = Math.max(MINIMUM_GRACE_SECONDS, gracePeriodSeconds - Math.ceil((ctx.now().getTime() - started) / 1000));
    await killContainer({ ctx, record, container, gracePeriodSeconds: Math.min(gracePeriodSeconds, left) });
  }
}

const ref = (record: PodRecord) => ({ podUid: record.uid, namespace: record.pod.metadata.namespace ?? '', name: record.pod.metadata.name ?? '' });

/** A finished pod keeps its containers (for logs) but gives back its sandbox, address and volumes. */
export async function releasePod(ctx: KubeletContext, record: PodRecord, sandboxIds: string[]): Promise<void> {
  for (const id of sandboxIds) await ctx.runtime.stopPodSandbox(id);
  if (!specOf(record.pod).hostNetwork) await ctx.network.tearDownPod(ref(record));
  await ctx.volumes.tearDownPodVolumes(record.uid);
  ctx.probes.removePod(record.uid);
}

/** Everything of a pod that is gone from the API: containers, sandboxes, address, volumes, files. */
export async function removePod(options: { ctx: KubeletContext; record: PodRecord; containers: ContainerStatus[]; sandboxIds: string[] }): Promise<void> {
  const { ctx, record } = options;
  await releasePod(ctx, record, options.sandboxIds);
  for (const c of options.containers) {
    await ctx.runtime.removeContainer(c.id);
    ctx.terminationMessages.delete(c.id);
  }
  for (const id of options.sandboxIds) await ctx.runtime.removePodSandbox(id);
  ctx.crashBackoff.forgetPod(record.uid);
  // Only our own files: the volumes under the pod dir are agent/volumes' (never rm -r across a mount).
  const dir = podDir(ctx.dataDir, record.uid);
  for (const entry of ['containers', 'etc-hosts', 'resolv.conf']) await rm(join(dir, entry), { recursive: true, force: true });
  await rmdir(dir).catch(() => {});
  await rm(podLogDir(ctx.dataDir, record.pod), { recursive: true, force: true });
}
