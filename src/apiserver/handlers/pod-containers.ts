// Which container a log/exec/attach request means, and whether its log can
// be read yet: upstream's container defaulting (pods/log, exec, attach) and
// the kubelet's container-log status check, answered from the pod's stored
// status so a pod that is not running yet gets its reason at once.
import { errors } from '../errors.ts';
import type { KubeObject } from '../registry/resource-store.ts';

interface ContainerSpec { name: string }
interface ContainerStatus {
  name: string;
  state?: { waiting?: { reason?: string }; running?: unknown; terminated?: unknown };
  lastState?: { terminated?: unknown };
}

function spec(pod: KubeObject): { containers?: ContainerSpec[]; initContainers?: ContainerSpec[]; ephemeralContainers?: ContainerSpec[] } {
  return (pod.spec ?? {}) as ReturnType<typeof spec>;
}

/** Every container name in upstream's visiting order: init, regular, ephemeral. */
function allContainerNames(pod: KubeObject): string[] {
  const s = spec(pod);
  return [...(s.initContainers ?? []), ...(s.containers ?? []), ...(s.ephemeralContainers ?? [])].map((c) => c.name);
}

/**
 * The container a request names, or the pod's only container. (The
 * `kubectl.kubernetes.io/default-container` annotation is kubectl's business:
 * it sends the container it picked.)
 */
export function resolveContainer(pod: KubeObject, requested: string | null): string {
  const podName = pod.metadata.name;
  if (requested) {
    if (!allContainerNames(pod).includes(requested)) throw errors.badRequest(`container ${requested} is not valid for pod ${podName}`);
    return requested;
  }
  const containers = spec(pod).containers ?? [];
  if (containers.length === 1) return containers[0].name;
  if (containers.length === 0) throw errors.badRequest(`a container name must be specified for pod ${podName}`);
  throw errors.badRequest(`a container name must be specified for pod ${podName}, choose one of: [${allContainerNames(pod).join(' ')}]`);
}

/**
 * Refuses a log request that cannot be served (the kubelet's rules): a
 * container waiting to start, or `previous` without a terminated attempt.
 * Containers without a status yet count as waiting in ContainerCreating
 * (PodInitializing behind init containers) while the pod is Pending.
 */
export function checkLogAvailable(pod: KubeObject, container: string, previous: boolean): void {
  const podName = pod.metadata.name;
  const status = (pod.status ?? {}) as { phase?: string; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[]; ephemeralContainerStatuses?: ContainerStatus[] };
  const found = [...(status.containerStatuses ?? []), ...(status.initContainerStatuses ?? []), ...(status.ephemeralContainerStatuses ?? [])]
    .find((c) => c.name === container);
  if (!found) {
    if ((status.phase ?? 'Pending') !== 'Pending') return; // let the node say what it knows
    if (previous) throw errors.badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    const isInit = (spec(pod).initContainers ?? []).some((c) => c.name === container);
    const reason = !isInit && (spec(pod).initContainers ?? []).length > 0 ? 'PodInitializing' : 'ContainerCreating';
    throw errors.badRequest(`container "${container}" in pod "${podName}" is waiting to start: ${reason}`);
  }
  if (previous) {
    if (!found.lastState?.terminated) throw errors.badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    return;
  }
  if (found.state?.running || found.state?.terminated || found.lastState?.terminated) return;
  const waiting = found.state?.waiting;
  if (waiting) {
    switch (waiting.reason) {
      case 'ErrImagePull': throw errors.badRequest(`container "${container}" in pod "${podName}" is waiting to start: image can't be pulled`);
      case 'ImagePullBackOff': throw errors.badRequest(`container "${container}" in pod "${podName}" is waiting to start: trying and failing to pull image`);
      default: throw errors.badRequest(`container "${container}" in pod "${podName}" is waiting to start: ${waiting.reason ?? ''}`);
    }
  }
}
