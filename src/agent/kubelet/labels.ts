// Labels the kubelet puts on runtime sandboxes and containers, so that the
// runtime alone tells — after an agent restart too — which pod and which
// container of its spec each one is, and what the status needs about it.
import type { ContainerStatus, PodSandboxStatus } from '../runtime/types.ts';

export const POD_UID = 'io.kubernetes.pod.uid';
export const POD_NAME = 'io.kubernetes.pod.name';
export const POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const CONTAINER_NAME = 'io.kubernetes.container.name';
/** The image as the status reports it: `docker.io/library/busybox:latest`. */
export const IMAGE_REF = 'skiff.dev/image';
/** The repo digest as the status reports it: `docker.io/library/busybox@sha256:…`. */
export const IMAGE_DIGEST_REF = 'skiff.dev/image-digest';
/** Host file behind the container's terminationMessagePath. */
export const TERMINATION_MESSAGE_FILE = 'skiff.dev/termination-message-file';
export const TERMINATION_MESSAGE_POLICY = 'skiff.dev/termination-message-policy';

export function podLabels(pod: { uid: string; name: string; namespace: string }): Record<string, string> {
  return { [POD_UID]: pod.uid, [POD_NAME]: pod.name, [POD_NAMESPACE]: pod.namespace };
}

export const podUidOf = (item: ContainerStatus | PodSandboxStatus): string | undefined =>
  'podUid' in item ? item.podUid : item.labels[POD_UID];
