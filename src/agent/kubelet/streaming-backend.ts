// The agent's StreamingBackend (../streaming/types.ts): what the streaming
// server (kubelet's port 10250) needs to serve `kubectl logs`, `exec` and
// `attach`. A pod is found by namespace and name among the pods the kubelet
// runs now (kubelet's pod manager); its containers, their attempts and log
// files come from the runtime itself, so an agent that just restarted serves
// what its predecessor started.
import type { ContainerRuntime, ContainerStatus, ExecOptions, StreamSession } from '../runtime/types.ts';
import { StreamingError, type ContainerLogSource, type ContainerTarget, type PodTarget, type StreamingBackend } from '../streaming/types.ts';
import { CONTAINER_NAME, POD_UID } from './labels.ts';
import { dialInNetns } from './netns-dial.ts';

export interface StreamingBackendOptions {
  runtime: ContainerRuntime;
  /** The uid of the pod `namespace/name` the kubelet runs now (undefined: none). */
  podUid: (namespace: string, name: string) => string | undefined;
  /** Port-forward's dialer (default: localhost in the sandbox's network namespace); tests replace it. */
  dial?: typeof dialInNetns;
}

const isActive = (c: ContainerStatus) => c.state === 'running' || c.state === 'created';

export function createStreamingBackend(options: StreamingBackendOptions): StreamingBackend {
  const { runtime } = options;

  /** The container's attempts, newest first. */
  const attempts = async (target: ContainerTarget): Promise<ContainerStatus[]> => {
    const uid = options.podUid(target.namespace, target.pod);
    if (!uid || (target.podUid && target.podUid !== uid)) throw StreamingError.notFound(`pod "${target.pod}" does not exist`);
    const list = (await runtime.listContainers()).filter((c) => c.labels[POD_UID] === uid && (c.labels[CONTAINER_NAME] ?? c.name) === target.container);
    return list.sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
  };

  /** The attempt that runs now, for exec and attach (kubelet looks among running containers only). */
  const running = async (target: ContainerTarget): Promise<ContainerStatus> => {
    const [current] = await attempts(target);
    if (!current || current.state !== 'running') throw StreamingError.notFound(`container not found ("${target.container}")`);
    return current;
  };

  return {
    async check(target: ContainerTarget): Promise<void> {
      await running(target);
    },

    async exec(target: ContainerTarget, execOptions: ExecOptions): Promise<StreamSession> {
      const container = await running(target);
      return runtime.exec(container.id, execOptions);
    },

    async attach(target: ContainerTarget, attachOptions: { stdin: boolean; tty: boolean }): Promise<StreamSession> {
      const container = await running(target);
      return runtime.attach(container.id, attachOptions);
    },

    async checkPod(target: PodTarget): Promise<void> {
      const uid = options.podUid(target.namespace, target.pod);
      if (!uid || (target.podUid && target.podUid !== uid)) throw StreamingError.notFound('pod does not exist');
    },

    async portForward(target: PodTarget, port: number) {
      const uid = options.podUid(target.namespace, target.pod);
      if (!uid || (target.podUid && target.podUid !== uid)) throw StreamingError.notFound('pod does not exist');
      const sandbox = (await runtime.listPodSandboxes({ podUid: uid })).find((s) => s.podUid === uid && s.state === 'ready');
      if (!sandbox) throw new Error(`pod sandbox of pod "${target.pod}" is not ready`);
      // No netns path: a hostNetwork pod, whose localhost is the node's.
      return (options.dial ?? dialInNetns)({ netnsPath: sandbox.netnsPath, port });
    },

    async containerLog(target: ContainerTarget, logOptions: { previous: boolean }): Promise<ContainerLogSource> {
      const [current, previous] = await attempts(target);
      const chosen = logOptions.previous ? previous : current;
      if (!chosen) {
        throw StreamingError.badRequest(logOptions.previous
          ? `previous terminated container "${target.container}" in pod "${target.pod}" not found`
          : `container "${target.container}" in pod "${target.pod}" is waiting to start: ContainerCreating`);
      }
      const id = chosen.id;
      return {
        path: chosen.logPath,
        isRunning: async () => {
          if (logOptions.previous) return false;
          try {
            return isActive(await runtime.containerStatus(id));
          } catch {
            return false; // removed meanwhile
          }
        },
      };
    },
  };
}
