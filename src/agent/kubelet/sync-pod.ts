// One sync of one pod: make the runtime match the pod, then report. Level-
// triggered like kubelet's SyncPod — every decision is taken from the pod
// and what the runtime shows now, so a sync after an agent restart simply
// continues. The steps: admission, sandbox and network, volumes, init
// containers in order (sidecars stay), app containers with the restart
// policy and CrashLoopBackOff, probe-driven restarts, and for pods that are
// done or deleted: termination, release, the final status and DELETE.
import { ApiStatusError, isNotFound, resources } from '../../client/interface.ts';
import { rfc3339 } from '../shared/node-lease.ts';
import { VolumeError } from '../volumes/types.ts';
import { admitPod, rejectedStatus, type Rejection } from './admission.ts';
import { formatDuration } from './backoff.ts';
import { recordPodEvent, type KubeletContext, type PodRecord } from './context.ts';
import { observePod, type PodObservation } from './observe.ts';
import { formatPod, isSidecar, specOf, statusOf, type ContainerSpec } from './pod-types.ts';
import { pruneOldAttempts } from './prune.ts';
import { ensureSandbox } from './sandbox.ts';
import { startContainer } from './start-container.ts';
import { computePodStatus, podPhase, shouldRestart, statusChanged, type ContainerView } from './status.ts';
import { containerSpecOf, fieldPathOf, killContainer, killPod, podGracePeriodSeconds, releasePod, removePod } from './terminate.ts';

export interface SyncResult {
  /** Sync again after this long (a back-off or retry expires). */
  requeueAfterMs?: number;
  /** The pod is gone and everything of it removed: forget it. */
  finished?: boolean;
}

export interface SyncDeps {
  ctx: KubeletContext;
  /** Pods admitted on this node that have not finished (for admission). */
  admittedPods: () => PodRecord[];
  /** The eviction manager's admission (pods refused under node pressure). */
  admitUnderPressure?: (pod: PodRecord['pod']) => Rejection | undefined;
}

const isTerminalPhase = (phase: string | undefined) => phase === 'Succeeded' || phase === 'Failed';
const active = (c: { state: string }) => c.state === 'running' || c.state === 'created';

export async function syncPod(deps: SyncDeps, record: PodRecord): Promise<SyncResult> {
  const { ctx } = deps;
  let observation = await observePod(ctx, record.uid);
  const sandboxIds = () => observation.sandboxes.map((s) => s.id);

  if (record.gone) {
    // Deleted without us (force deletion, or while the agent was down): stop and remove everything.
    if (observation.containers.some(active)) await killPod({ ctx, record, containers: observation.containers, gracePeriodSeconds: Math.min(podGracePeriodSeconds(record), 2) });
    observation = await observePod(ctx, record.uid);
    await removePod({ ctx, record, containers: observation.containers, sandboxIds: sandboxIds() });
    return { finished: true };
  }
  if (record.eviction && !isTerminalPhase(statusOf(record.pod).phase)) return evictPod(ctx, record, observation);
  if (record.pod.metadata.deletionTimestamp) return terminatePod(deps, record, observation);

  if (isTerminalPhase(statusOf(record.pod).phase)) {
    // Finished (by us, or someone else said so, e.g. an eviction): nothing may run any more.
    if (observation.containers.some(active)) {
      await killPod({ ctx, record, containers: observation.containers, gracePeriodSeconds: podGracePeriodSeconds(record) });
      observation = await observePod(ctx, record.uid);
    }
    if (!record.released) {
      await releasePod(ctx, record, sandboxIds());
      record.released = true;
    }
    return {};
  }

  if (record.admitted === undefined) admit(deps, record, observation);
  if (record.rejection) {
    await writeStatus(ctx, record, { ...statusOf(record.pod), ...rejectedStatus(record.rejection) });
    return {};
  }

  const sandboxId = await ensureSandbox(ctx, record, observation);
  try {
    record.volumes = await ctx.volumes.setUpPodVolumes(record.pod);
    record.mountFailures = 0;
  } catch (error) {
    if (!(error instanceof VolumeError)) throw error;
    recordPodEvent(ctx, { pod: record.pod, type: 'Warning', reason: 'FailedMount', message: error.message });
    record.mountFailures++;
    await report(ctx, record, await observePod(ctx, record.uid));
    return { requeueAfterMs: Math.min(30_000, 1000 * 2 ** Math.min(5, record.mountFailures - 1)) };
  }

  let requeueAfterMs: number | undefined;
  const soon = (ms: number) => { requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, ms); };
  await restartUnhealthy(ctx, record, observation);
  observation = await observePod(ctx, record.uid);

  const step = (container: ContainerSpec, current: ContainerView | undefined) => startOrRestart({ ctx, record, sandboxId, container, current, soon });
  const initDone = await syncInitContainers({ ctx, record, observation, step });
  if (initDone) {
    const policy = specOf(record.pod).restartPolicy;
    for (const container of specOf(record.pod).containers ?? []) {
      const current = observation.histories.get(container.name)?.current;
      if (!current || (current.state === 'exited' && shouldRestart(policy, container, current))) await step(container, current);
    }
  }

  // Attempts older than the previous one (a stale list is fine: starts only add newer ones).
  await pruneOldAttempts(ctx, observation.containers);
  observation = await observePod(ctx, record.uid);
  if (isTerminalPhase(podPhase({ pod: record.pod, containers: observation.histories }))) {
    // Done: stop what is left (sidecars), give back address and volumes, report the final phase.
    await killPod({ ctx, record, containers: observation.containers, gracePeriodSeconds: podGracePeriodSeconds(record) });
    observation = await observePod(ctx, record.uid);
    await releasePod(ctx, record, sandboxIds());
    record.released = true;
  } else {
    ctx.probes.syncPod(record.uid, observation.containers.filter((c) => c.state === 'running').flatMap((c) => {
      const name = c.labels['io.kubernetes.container.name'] ?? c.name;
      const container = containerSpecOf(record, name);
      return container ? [{ pod: record.pod, container, fieldPath: fieldPathOf(record, name), containerId: c.id, startedAt: c.startedAt, podIp: record.podIps[0] ?? ctx.node.hostIp }] : [];
    }));
  }
  await report(ctx, record, observation);
  return { requeueAfterMs };
}

function admit(deps: SyncDeps, record: PodRecord, observation: PodObservation): void {
  // Pods that already run (the agent restarted) were admitted before.
  if (observation.containers.length > 0 || statusOf(record.pod).phase === 'Running') {
    record.admitted = true;
    return;
  }
  const others = deps.admittedPods().filter((r) => r !== record).map((r) => r.pod);
  const rejection = admitPod({ pod: record.pod, admitted: others, allocatable: deps.ctx.node.allocatable }) ?? deps.admitUnderPressure?.(record.pod);
  record.admitted = rejection === undefined;
  if (rejection) {
    record.rejection = rejection;
    recordPodEvent(deps.ctx, { pod: record.pod, type: 'Warning', reason: rejection.reason, message: rejection.message });
  }
}

/** Liveness or startup probe failed: kill the container (the restart policy then decides). */
async function restartUnhealthy(ctx: KubeletContext, record: PodRecord, observation: PodObservation): Promise<void> {
  for (const c of observation.containers) {
    if (c.state !== 'running') continue;
    const kind = ctx.probes.failed(c.id);
    if (!kind) continue;
    const name = c.labels['io.kubernetes.container.name'] ?? c.name;
    const spec = containerSpecOf(record, name);
    const probe = kind === 'liveness' ? spec?.livenessProbe : spec?.startupProbe;
    const grace = probe?.terminationGracePeriodSeconds ?? podGracePeriodSeconds(record);
    await killContainer({ ctx, record, container: c, gracePeriodSeconds: grace, message: `Container ${name} failed ${kind} probe, will be restarted` });
  }
}

/**
 * Init containers one at a time: each must exit 0 before the next starts
 * (a sidecar must be running and started). True when all are done.
 */
async function syncInitContainers(options: {
  ctx: KubeletContext;
  record: PodRecord;
  observation: PodObservation;
  step: (container: ContainerSpec, current: ContainerView | undefined) => Promise<boolean>;
}): Promise<boolean> {
  const { ctx, record, observation, step } = options;
  const spec = specOf(record.pod);
  const policy = spec.restartPolicy ?? 'Always';
  // Once an app container ran, the pod was initialized: init containers never run again.
  const initialized = (spec.containers ?? []).some((c) => observation.histories.has(c.name));
  for (const container of spec.initContainers ?? []) {
    const current = observation.histories.get(container.name)?.current;
    if (isSidecar(container)) {
      if (!current || current.state === 'exited') {
        await step(container, current);
        if (!initialized) return false;
        continue;
      }
      if (!initialized && (current.state !== 'running' || !ctx.probes.started(current.id, container))) return false;
      continue;
    }
    if (initialized) continue;
    if (current?.state === 'exited' && (current.exitCode ?? 0) === 0) continue;
    if (current && current.state !== 'exited') return false;
    if (current && policy === 'Never') return false;
    await step(container, current);
    return false;
  }
  return true;
}

/** Start the container's first or next attempt, unless CrashLoopBackOff holds it back. True when it started. */
async function startOrRestart(options: {
  ctx: KubeletContext;
  record: PodRecord;
  sandboxId: string;
  container: ContainerSpec;
  current: ContainerView | undefined;
  soon: (ms: number) => void;
}): Promise<boolean> {
  const { ctx, record, container, current } = options;
  const fieldPath = fieldPathOf(record, container.name);
  if (current?.state === 'exited') {
    const key = `${record.uid}/${container.name}`;
    const wait = ctx.crashBackoff.waiting(key, current.finishedAt);
    if (wait) {
      record.waiting.set(container.name, {
        reason: 'CrashLoopBackOff',
        message: `back-off ${formatDuration(wait.delayMs)} restarting failed container=${container.name} pod=${formatPod(record.pod)}`,
      });
      recordPodEvent(ctx, { pod: record.pod, type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${container.name} in pod ${formatPod(record.pod)}`, fieldPath });
      options.soon(wait.remainingMs);
      return false;
    }
    ctx.crashBackoff.restarted(key, current.finishedAt);
  }
  const outcome = await startContainer({ ctx, record, sandboxId: options.sandboxId, container, fieldPath, attempt: current ? current.attempt + 1 : 0 });
  if (!outcome.started) options.soon(outcome.retryAfterMs);
  return outcome.started;
}

/** Graceful deletion: preStop, SIGTERM, grace, SIGKILL; release; final status; DELETE with grace 0. */
async function terminatePod(deps: SyncDeps, record: PodRecord, observation: PodObservation): Promise<SyncResult> {
  const { ctx } = deps;
  if (observation.containers.some(active)) {
    await killPod({ ctx, record, containers: observation.containers, gracePeriodSeconds: podGracePeriodSeconds(record) });
    observation = await observePod(ctx, record.uid);
  }
  if (!record.released) {
    await releasePod(ctx, record, observation.sandboxes.map((s) => s.id));
    record.released = true;
  }
  if (!record.rejection && record.admitted) await report(ctx, record, observation, true);
  const rv = record.pod.metadata.resourceVersion;
  if (record.deleteSentFor === rv) return {};
  record.deleteSentFor = rv;
  try {
    await ctx.client.delete({ ...resources.pods, namespace: record.pod.metadata.namespace, name: record.pod.metadata.name }, { gracePeriodSeconds: 0, preconditions: { uid: record.uid } });
  } catch (error) {
    // Gone already, or a new pod of the same name (the uid precondition fails with 409): nothing of ours to delete.
    if (isNotFound(error) || (error instanceof ApiStatusError && error.code === 409)) return {};
    record.deleteSentFor = undefined;
    throw error;
  }
  return {};
}

/**
 * The eviction manager's kill: an `Evicted` event, the containers stopped
 * within the eviction's grace period, what the pod held released, and the
 * pod failed with reason Evicted and a DisruptionTarget condition.
 */
async function evictPod(ctx: KubeletContext, record: PodRecord, observation: PodObservation): Promise<SyncResult> {
  const eviction = record.eviction!;
  if (!eviction.eventRecorded) {
    recordPodEvent(ctx, { pod: record.pod, type: 'Warning', reason: 'Evicted', message: eviction.message });
    eviction.eventRecorded = true;
  }
  if (observation.containers.some(active)) {
    await killPod({ ctx, record, containers: observation.containers, gracePeriodSeconds: eviction.gracePeriodSeconds });
    observation = await observePod(ctx, record.uid);
  }
  if (!record.released) {
    await releasePod(ctx, record, observation.sandboxes.map((s) => s.id));
    record.released = true;
  }
  const status = podStatusNow(ctx, record, observation, { podIsTerminal: true, phase: 'Failed' });
  const conditions = (status.conditions as { type: string }[]).filter((c) => c.type !== 'DisruptionTarget');
  const previous = statusOf(record.pod).conditions?.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
  conditions.push({
    type: 'DisruptionTarget', status: 'True', lastProbeTime: null,
    lastTransitionTime: previous?.lastTransitionTime ?? rfc3339(ctx.now()),
    reason: 'TerminationByKubelet', message: eviction.message,
  } as { type: string });
  await writeStatus(ctx, record, { ...status, reason: 'Evicted', message: eviction.message, conditions });
  eviction.done(true);
  return {};
}

function podStatusNow(ctx: KubeletContext, record: PodRecord, observation: PodObservation, options: { podIsTerminal: boolean; phase?: string }): Record<string, unknown> {
  return computePodStatus({
    pod: record.pod,
    now: ctx.now(),
    runtimeName: ctx.runtime.name,
    hostIp: ctx.node.hostIp,
    podIps: record.podIps,
    sandboxReady: observation.sandbox !== undefined && !record.released,
    containers: observation.histories,
    waiting: record.waiting,
    ready: (id) => {
      const c = observation.containers.find((x) => x.id === id);
      const spec = c && containerSpecOf(record, c.labels['io.kubernetes.container.name'] ?? c.name);
      return !!spec && ctx.probes.ready(id, spec);
    },
    started: (id) => {
      const c = observation.containers.find((x) => x.id === id);
      const spec = c && containerSpecOf(record, c.labels['io.kubernetes.container.name'] ?? c.name);
      return !!spec && ctx.probes.started(id, spec);
    },
    ...options,
  });
}

/** Compute the status from what runs and write it if it changed. */
async function report(ctx: KubeletContext, record: PodRecord, observation: PodObservation, podIsTerminal = false): Promise<void> {
  await writeStatus(ctx, record, podStatusNow(ctx, record, observation, { podIsTerminal }));
}

async function writeStatus(ctx: KubeletContext, record: PodRecord, status: Record<string, unknown>): Promise<void> {
  if (!statusChanged(record.pod.status, status)) return;
  const text = JSON.stringify(status);
  const rv = record.pod.metadata.resourceVersion;
  // Written already from this very version of the pod: the watch just has not brought it back yet.
  if (record.lastWritten?.status === text && record.lastWritten.resourceVersion === rv) return;
  // Remembered before the write: the watch may bring the change back before the answer comes.
  const previous = record.lastWritten;
  record.lastWritten = { status: text, resourceVersion: rv };
  try {
    await ctx.client.patch({ ...resources.pods, namespace: record.pod.metadata.namespace, name: record.pod.metadata.name, subresource: 'status' }, 'merge', { status });
  } catch (error) {
    record.lastWritten = previous;
    if (!isNotFound(error)) throw error;
  }
}
