// Starting one container attempt, as kubelet's startContainer: pull the
// image, build the config, create, start, run the postStart hook. Each
// failure leaves the reason the container waits with (ErrImagePull,
// ImagePullBackOff, CreateContainerConfigError, CreateContainerError,
// RunContainerError) and upstream's events.
import { recordPodEvent, type KubeletContext, type PodRecord } from './context.ts';
import { buildContainerConfig } from './container-config.ts';
import { ContainerConfigError } from './env.ts';
import { runLifecycleHook } from './hooks.ts';
import { formatPod, specOf, type ContainerSpec } from './pod-types.ts';
import { pullImage } from './pull.ts';

export type StartOutcome = { started: true; containerId: string } | { started: false; retryAfterMs: number };

const CONFIG_RETRY_MS = 2000;

export async function startContainer(options: {
  ctx: KubeletContext;
  record: PodRecord;
  sandboxId: string;
  container: ContainerSpec;
  fieldPath: string;
  attempt: number;
}): Promise<StartOutcome> {
  const { ctx, record, container, fieldPath } = options;
  const pod = record.pod;
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) => recordPodEvent(ctx, { pod, type, reason, message, fieldPath });

  const pulled = await pullImage({ ctx, record, container, fieldPath });
  if ('waiting' in pulled) {
    record.waiting.set(container.name, pulled.waiting);
    return { started: false, retryAfterMs: pulled.retryAfterMs };
  }
  let config;
  try {
    config = await buildContainerConfig({ ctx, record, container, image: pulled.image, attempt: options.attempt });
  } catch (error) {
    if (!(error instanceof ContainerConfigError)) throw error;
    record.waiting.set(container.name, { reason: error.reason, message: error.message });
    event('Warning', 'Failed', `Error: ${error.message}`);
    return { started: false, retryAfterMs: CONFIG_RETRY_MS };
  }
  let containerId: string;
  try {
    containerId = await ctx.runtime.createContainer(options.sandboxId, config);
  } catch (error) {
    const message = (error as Error).message;
    record.waiting.set(container.name, { reason: 'CreateContainerError', message });
    event('Warning', 'Failed', `Error: ${message}`);
    return { started: false, retryAfterMs: CONFIG_RETRY_MS };
  }
  event('Normal', 'Created', `Created container: ${container.name}`);
  try {
    await ctx.runtime.startContainer(containerId);
  } catch (error) {
    const message = `failed to start container "${containerId}": ${(error as Error).message}`;
    await ctx.runtime.removeContainer(containerId).catch(() => {});
    record.waiting.set(container.name, { reason: 'RunContainerError', message });
    event('Warning', 'Failed', `Error: ${message}`);
    return { started: false, retryAfterMs: CONFIG_RETRY_MS };
  }
  record.waiting.delete(container.name);
  event('Normal', 'Started', `Started container ${container.name}`);

  const postStart = container.lifecycle?.postStart;
  if (postStart) {
    const failure = await runLifecycleHook(postStart, {
      runtime: ctx.runtime, containerId, container, podIp: record.podIps[0] ?? ctx.node.hostIp, podName: formatPod(pod), timeoutSeconds: 0,
    });
    if (failure) {
      // As upstream: the container that failed its postStart hook is killed; the restart policy decides what follows.
      event('Warning', 'FailedPostStartHook', failure);
      const grace = specOf(pod).terminationGracePeriodSeconds ?? 30;
      event('Normal', 'Killing', `FailedPostStartHook`);
      await ctx.runtime.stopContainer(containerId, grace).catch((e) => ctx.warn(`stopping ${containerId}: ${(e as Error).message}`));
    }
  }
  return { started: true, containerId };
}
