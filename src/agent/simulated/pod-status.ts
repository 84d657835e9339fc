// What a hollow kubelet does to one pod, decided from the pod alone
// (level-triggered: the same pod always gives the same answer), and the
// status it reports for a pod it "started". Pure; the I/O is in pods.ts.
import type { KubeObject } from '../../client/interface.ts';
import { rfc3339 } from '../shared/node-lease.ts';

export type PodAction =
  /** Not ours to touch (terminal, already running, or not bound to us). */
  | { kind: 'none' }
  /** Bound and pending: report it Running. */
  | { kind: 'start' }
  /** Marked for deletion: finish the termination (delete with grace 0). */
  | { kind: 'finish-deletion' };

interface PodLike {
  metadata: { deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string };
}

export function podPhase(pod: KubeObject): string | undefined {
  return (pod as PodLike).status?.phase;
}

export function podNodeName(pod: KubeObject): string | undefined {
  return (pod as PodLike).spec?.nodeName || undefined;
}

export const isTerminal = (pod: KubeObject) => podPhase(pod) === 'Succeeded' || podPhase(pod) === 'Failed';

/**
 * A deletion is finished whatever the phase (a kubelet kills containers and
 * removes terminal pods too). Otherwise only pods still waiting to start are
 * changed: once Running, Succeeded or Failed, the status belongs to whoever
 * writes it next — tests move pods to Succeeded/Failed as kwok users do.
 */
export function decidePodAction(pod: KubeObject): PodAction {
  if (pod.metadata.deletionTimestamp) return { kind: 'finish-deletion' };
  const phase = podPhase(pod);
  if (phase === undefined || phase === '' || phase === 'Pending') return { kind: 'start' };
  return { kind: 'none' };
}

export { rfc3339 };

interface ContainerSpec {
  name: string;
  image?: string;
  restartPolicy?: string;
}

function containerStatus(options: { uid: string; container: ContainerSpec; state: Record<string, unknown>; ready: boolean; started: boolean }) {
  const { uid, container, state, ready, started } = options;
  const image = container.image ?? '';
  return {
    name: container.name,
    state,
    lastState: {},
    ready,
    restartCount: 0,
    image,
    imageID: `simulated://${image}`,
    containerID: `simulated://${uid}-${container.name}`,
    started,
  };
}

type Condition = { type: string; status: string; [field: string]: unknown };

/** The kubelet's wording for the first readiness gate that holds Ready back. */
function gateMessage(type: string, condition: Condition | undefined): string {
  return condition
    ? `the status of pod readiness gate "${type}" is not "True", but ${condition.status}`
    : `corresponding condition of pod readiness gate "${type}" does not exist.`;
}

/**
 * The pod's conditions with ours set: conditions others own (readiness gates,
 * DisruptionTarget) are kept, and lastTransitionTime is kept where the
 * status does not change (the scheduler's PodScheduled, for one). Ready
 * waits for every readiness gate to be True, as the kubelet's does.
 */
export function runningConditions(pod: KubeObject, now: string): Condition[] {
  const generation = pod.metadata.generation;
  const existing = ((pod.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).filter((c) => c && typeof c.type === 'string');
  const byType = new Map(existing.map((c) => [c.type, c]));
  const gates = ((pod.spec as { readinessGates?: { conditionType?: string }[] } | undefined)?.readinessGates ?? [])
    .map((g) => g.conditionType).filter((t): t is string => typeof t === 'string');
  const gatesOpen = gates.filter((t) => byType.get(t)?.status !== 'True');
  const set = (type: string, status: string, extra: Record<string, unknown> = {}): Condition => {
    const old = byType.get(type);
    return {
      type, status, lastProbeTime: null,
      lastTransitionTime: old?.status === status && typeof old.lastTransitionTime === 'string' ? old.lastTransitionTime : now,
      ...(generation ? { observedGeneration: generation } : {}),
      ...extra,
    };
  };
  const ours: Condition[] = [
    set('PodReadyToStartContainers', 'True'),
    set('Initialized', 'True'),
    gatesOpen.length
      ? set('Ready', 'False', { reason: 'ReadinessGatesNotReady', message: gateMessage(gatesOpen[0]!, byType.get(gatesOpen[0]!)) })
      : set('Ready', 'True'),
    set('ContainersReady', 'True'),
    set('PodScheduled', 'True'),
  ];
  const ourTypes = new Set(ours.map((c) => c.type));
  return [...ours, ...existing.filter((c) => !ourTypes.has(c.type))];
}

/**
 * The status a kubelet reports once every container of the pod runs and is
 * ready (simulated pods pass any readiness probe at once). Init containers
 * have completed, except restartable (sidecar) ones, which keep running.
 * `startTime` the pod already has is kept.
 */
export function runningPodStatus(options: { pod: KubeObject; podIp: string; hostIp: string; now: Date }): Record<string, unknown> {
  const { pod, podIp, hostIp } = options;
  const now = rfc3339(options.now);
  const uid = pod.metadata.uid ?? '';
  const generation = pod.metadata.generation;
  const spec = (pod.spec ?? {}) as { containers?: ContainerSpec[]; initContainers?: ContainerSpec[] };
  const current = (pod.status ?? {}) as { startTime?: string };
  const running = { running: { startedAt: now } };
  const initContainerStatuses = (spec.initContainers ?? []).map((container) =>
    container.restartPolicy === 'Always'
      ? containerStatus({ uid, container, state: running, ready: true, started: true })
      : containerStatus({
          uid, container, ready: true, started: false,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now, containerID: `simulated://${uid}-${container.name}` } },
        }));
  const containerStatuses = (spec.containers ?? []).map((container) => containerStatus({ uid, container, state: running, ready: true, started: true }));
  return {
    ...(generation ? { observedGeneration: generation } : {}),
    phase: 'Running',
    conditions: runningConditions(pod, now),
    hostIP: hostIp,
    hostIPs: [{ ip: hostIp }],
    podIP: podIp,
    podIPs: [{ ip: podIp }],
    startTime: current.startTime ?? now,
    ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
    containerStatuses,
  };
}

/**
 * A running pod whose Ready condition someone else turned False (the node
 * lifecycle controller, while the node was silent): the kubelet's next
 * status sync reports it as it is again.
 */
export function lostReadiness(pod: KubeObject): boolean {
  if (pod.metadata.deletionTimestamp || podPhase(pod) !== 'Running') return false;
  const conditions = (pod.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  return ready?.status === 'False' && ready.reason !== 'ReadinessGatesNotReady';
}

/** hostNetwork pods share the node's address instead of getting one from the pod range. */
export function usesHostNetwork(pod: KubeObject): boolean {
  return (pod.spec as { hostNetwork?: boolean } | undefined)?.hostNetwork === true;
}

/** The pod's current podIP, if it has one. */
export function podIpOf(pod: KubeObject): string | undefined {
  const ip = (pod.status as { podIP?: unknown } | undefined)?.podIP;
  return typeof ip === 'string' && ip ? ip : undefined;
}
