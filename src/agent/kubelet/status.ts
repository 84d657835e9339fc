// The pod status the kubelet reports, computed from what the runtime shows
// (the latest and previous instance of each container), what the kubelet
// itself knows (why a container waits, probe results) and the pod. Pure:
// the same inputs give the same status, so it is compared with the pod's
// current status and written only when it changed.
import type { KubeObject } from '../../client/interface.ts';
import { rfc3339 } from '../shared/node-lease.ts';
import { isSidecar, specOf, statusOf, type ContainerSpec, type PodCondition } from './pod-types.ts';
import { qosClassOf } from './resources.ts';

/** One runtime container of the pod, as the status needs it. */
export interface ContainerView {
  id: string;
  name: string;
  attempt: number;
  state: 'created' | 'running' | 'exited' | 'unknown';
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode?: number;
  reason?: string;
  /** terminated.message (terminationMessagePath, or the log tail with FallbackToLogsOnError). */
  message?: string;
  /** `docker.io/library/busybox:latest` */
  image: string;
  /** `docker.io/library/busybox@sha256:…` */
  imageId: string;
}

export interface ContainerHistory {
  current?: ContainerView;
  previous?: ContainerView;
}

export interface WaitingReason {
  reason: string;
  message?: string;
}

export interface StatusInput {
  pod: KubeObject;
  now: Date;
  runtimeName: string;
  hostIp: string;
  podIps: string[];
  /** The sandbox runs and its network is set up. */
  sandboxReady: boolean;
  containers: ReadonlyMap<string, ContainerHistory>;
  /** Why a container is not running (ErrImagePull, CrashLoopBackOff, CreateContainerConfigError …). */
  waiting: ReadonlyMap<string, WaitingReason>;
  ready: (containerId: string) => boolean;
  started: (containerId: string) => boolean;
  /** The pod is being deleted and every container has been stopped: the phase becomes terminal whatever the restart policy. */
  podIsTerminal?: boolean;
  /** The phase decided elsewhere (an eviction fails the pod whatever its containers did). */
  phase?: string;
}

const exited = (view: ContainerView | undefined) => view?.state === 'exited';
const running = (view: ContainerView | undefined) => view?.state === 'running';

/** An exited app or sidecar container that the restart policy brings back. */
export function shouldRestart(restartPolicy: string | undefined, container: ContainerSpec, view: ContainerView): boolean {
  if (isSidecar(container)) return true;
  const policy = restartPolicy ?? 'Always';
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return (view.exitCode ?? 0) !== 0;
  return false;
}

/** upstream's getPhase, from the containers' latest instances. */
export function podPhase(input: Pick<StatusInput, 'pod' | 'containers' | 'podIsTerminal'>): string {
  const spec = specOf(input.pod);
  const restartPolicy = spec.restartPolicy ?? 'Always';
  let pendingInit = 0;
  let failedInit = 0;
  for (const c of spec.initContainers ?? []) {
    const history = input.containers.get(c.name);
    const view = history?.current;
    if (isSidecar(c)) {
      if (!running(view) && !history?.previous) pendingInit++;
      continue;
    }
    if (!view || view.state === 'created' || running(view)) pendingInit++;
    else if (exited(view) && (view.exitCode ?? 0) !== 0) failedInit++;
    else if (!exited(view)) pendingInit++;
  }
  let unknown = 0;
  let runningCount = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec.containers ?? []) {
    const view = input.containers.get(c.name)?.current;
    if (!view) {
      waiting++;
    } else if (running(view)) {
      runningCount++;
    } else if (exited(view)) {
      stopped++;
      if ((view.exitCode ?? 0) === 0) succeeded++;
    } else if (view.state === 'unknown') {
      unknown++;
    } else {
      waiting++;
    }
  }
  if (failedInit > 0 && restartPolicy === 'Never') return 'Failed';
  if (input.podIsTerminal && runningCount === 0 && pendingInit + failedInit + stopped + waiting > 0) {
    // Deleted: what ran decides (containers that never started count as failed).
    return stopped > 0 && stopped === succeeded && waiting === 0 ? 'Succeeded' : 'Failed';
  }
  if (pendingInit > 0 || failedInit > 0) return 'Pending';
  if (waiting > 0) return 'Pending';
  if (runningCount > 0 && unknown === 0) return 'Running';
  if (runningCount === 0 && stopped > 0 && unknown === 0) {
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    return restartPolicy === 'Never' ? 'Failed' : 'Running';
  }
  return 'Pending';
}

function terminatedState(view: ContainerView, runtimeName: string): Record<string, unknown> {
  const code = view.exitCode ?? 0;
  return {
    terminated: {
      exitCode: code,
      reason: view.reason ?? (code === 0 ? 'Completed' : 'Error'),
      ...(view.message ? { message: view.message } : {}),
      startedAt: view.startedAt ? rfc3339(new Date(view.startedAt)) : null,
      finishedAt: view.finishedAt ? rfc3339(new Date(view.finishedAt)) : null,
      containerID: `${runtimeName}://${view.id}`,
    },
  };
}

function containerStatus(options: { input: StatusInput; container: ContainerSpec; defaultWaiting: string; init: boolean }): Record<string, unknown> {
  const { input, container } = options;
  const history = input.containers.get(container.name);
  const current = history?.current;
  const previous = history?.previous;
  const waitingFor = input.waiting.get(container.name);
  let state: Record<string, unknown>;
  let lastState: Record<string, unknown> = previous && exited(previous) ? terminatedState(previous, input.runtimeName) : {};
  if (current && running(current)) {
    state = { running: { startedAt: rfc3339(new Date(current.startedAt || current.createdAt)) } };
  } else if (current && exited(current) && waitingFor) {
    // Waiting to be restarted (CrashLoopBackOff, or an image/config error on the way back).
    state = { waiting: { reason: waitingFor.reason, ...(waitingFor.message ? { message: waitingFor.message } : {}) } };
    lastState = terminatedState(current, input.runtimeName);
  } else if (current && exited(current)) {
    state = terminatedState(current, input.runtimeName);
  } else {
    const reason = waitingFor?.reason ?? options.defaultWaiting;
    state = { waiting: { reason, ...(waitingFor?.message ? { message: waitingFor.message } : {}) } };
  }
  const isRunning = !!current && running(current);
  const started = isRunning && input.started(current.id);
  const ready = options.init && !isSidecar(container)
    ? !!current && exited(current) && (current.exitCode ?? 0) === 0
    : isRunning && started && input.ready(current.id);
  return {
    name: container.name,
    state,
    lastState,
    ready,
    restartCount: current?.attempt ?? 0,
    image: current?.image ?? container.image ?? '',
    imageID: current?.imageId ?? '',
    ...(current ? { containerID: `${input.runtimeName}://${current.id}` } : {}),
    started: options.init && !isSidecar(container) ? false : started,
  };
}

function condition(options: { old: PodCondition | undefined; type: string; status: string; now: string; generation?: number; reason?: string; message?: string }): PodCondition {
  const { old, type, status, now } = options;
  return {
    type,
    status,
    ...(options.generation ? { observedGeneration: options.generation } : {}),
    lastProbeTime: null,
    lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
    ...(options.reason ? { reason: options.reason } : {}),
    ...(options.message ? { message: options.message } : {}),
  };
}

/** The pod status to report (a whole status object; compare it with the pod's before writing). */
export function computePodStatus(input: StatusInput): Record<string, unknown> {
  const { pod } = input;
  const spec = specOf(pod);
  const current = statusOf(pod);
  const now = rfc3339(input.now);
  const generation = pod.metadata.generation;
  const hasInit = (spec.initContainers ?? []).length > 0;
  const defaultWaiting = hasInit ? 'PodInitializing' : 'ContainerCreating';
  const initContainerStatuses = (spec.initContainers ?? []).map((container) => containerStatus({ input, container, defaultWaiting, init: true }));
  const containerStatuses = (spec.containers ?? []).map((container) => containerStatus({ input, container, defaultWaiting, init: false }));
  const phase = input.phase ?? podPhase(input);
  const terminal = phase === 'Succeeded' || phase === 'Failed';

  const incompleteInit = (spec.initContainers ?? []).filter((c, i) => {
    const s = initContainerStatuses[i] as { ready: boolean; started: boolean };
    return isSidecar(c) ? !s.started : !s.ready;
  }).map((c) => c.name);
  const anyAppStarted = (spec.containers ?? []).some((c) => input.containers.get(c.name)?.current);
  const initialized = incompleteInit.length === 0 || anyAppStarted;
  const unready = [
    ...(spec.initContainers ?? []).filter((c, i) => isSidecar(c) && !(initContainerStatuses[i] as { ready: boolean }).ready),
    ...(spec.containers ?? []).filter((_c, i) => !(containerStatuses[i] as { ready: boolean }).ready),
  ].map((c) => c.name);

  const existing = (current.conditions ?? []).filter((c) => c && typeof c.type === 'string');
  const byType = new Map(existing.map((c) => [c.type, c]));
  const make = (type: string, status: boolean, reason?: string, message?: string) =>
    condition({ old: byType.get(type), type, status: status ? 'True' : 'False', now, generation, ...(status ? {} : { reason, message }) });
  const gates = (spec.readinessGates ?? []).map((g) => g.conditionType);
  const openGate = gates.find((t) => byType.get(t)?.status !== 'True');
  const containersReady = !terminal && unready.length === 0;
  const notReadyReason = terminal ? 'PodCompleted' : 'ContainersNotReady';
  const notReadyMessage = terminal ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  let ready = make('Ready', containersReady, notReadyReason, notReadyMessage);
  if (containersReady && openGate) {
    const gate = byType.get(openGate);
    ready = make('Ready', false, 'ReadinessGatesNotReady', gate
      ? `the status of pod readiness gate "${openGate}" is not "True", but ${gate.status}`
      : `corresponding condition of pod readiness gate "${openGate}" does not exist.`);
  }
  const ours: PodCondition[] = [
    make('PodReadyToStartContainers', input.sandboxReady),
    initialized ? make('Initialized', true) : make('Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: [${incompleteInit.join(' ')}]`),
    ready,
    make('ContainersReady', containersReady, notReadyReason, notReadyMessage),
    // Bound to this node means scheduled (pods created with spec.nodeName never met a scheduler).
    make('PodScheduled', true),
  ];
  const ourTypes = new Set(ours.map((c) => c.type));
  const conditions = [...ours, ...existing.filter((c) => !ourTypes.has(c.type))];

  const status: Record<string, unknown> = {
    ...(generation ? { observedGeneration: generation } : {}),
    phase,
    conditions,
    hostIP: input.hostIp,
    hostIPs: [{ ip: input.hostIp }],
    ...(input.podIps.length ? { podIP: input.podIps[0], podIPs: input.podIps.map((ip) => ({ ip })) } : {}),
    startTime: current.startTime ?? now,
    ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
    containerStatuses,
    qosClass: current.qosClass ?? qosClassOf(spec),
  };
  return status;
}

/**
 * Whether `next` says something `current` does not (the kubelet writes
 * pod status on change only).
 */
export function statusChanged(current: unknown, next: Record<string, unknown>): boolean {
  // Only the fields we write: others (nominatedNodeName, resize …) are not ours to compare.
  const mine = Object.fromEntries(Object.keys(next).map((k) => [k, (current as Record<string, unknown> | undefined)?.[k]]));
  return canonical(mine) !== canonical(next);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => [k, v[k]]));
    }
    return v;
  });
}
