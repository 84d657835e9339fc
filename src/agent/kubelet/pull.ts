// Image pulls for a container, as kubelet's image manager does them: the
// pull policy, credentials from the pod's imagePullSecrets, Pulling/Pulled/
// Failed/BackOff events, and the per-pod-and-image back-off during which the
// container waits with ImagePullBackOff.
import { isNotFound } from '../../client/interface.ts';
import { credentialsFromDockerConfigJson, type RegistryCredentials } from '../images/credentials.ts';
import { ImagePullError } from '../images/errors.ts';
import { defaultPullPolicy, PullBackoff, shouldPull } from '../images/policy.ts';
import { parseReference, repositoryName } from '../images/reference.ts';
import type { ImageRecord } from '../images/store.ts';
import { coreResource, recordPodEvent, type KubeletContext, type PodRecord } from './context.ts';
import type { ContainerSpec } from './pod-types.ts';
import type { WaitingReason } from './status.ts';

export type PullOutcome = { image: ImageRecord } | { waiting: WaitingReason; retryAfterMs: number };

/** Credentials from the pod's imagePullSecrets that apply to the image's repository. */
async function pullCredentials(ctx: KubeletContext, record: PodRecord, image: string): Promise<RegistryCredentials[]> {
  const secrets = ((record.pod.spec as { imagePullSecrets?: { name?: string }[] }).imagePullSecrets ?? []).map((s) => s.name).filter((n): n is string => !!n);
  if (secrets.length === 0) return [];
  let repository: string;
  try {
    repository = repositoryName(parseReference(image));
  } catch {
    return [];
  }
  const out: RegistryCredentials[] = [];
  for (const name of secrets) {
    let secret;
    try {
      secret = await ctx.client.get({ ...coreResource('secrets'), namespace: record.pod.metadata.namespace, name });
    } catch (error) {
      // A missing pull secret is not fatal upstream either: the pull is tried without it.
      if (isNotFound(error)) continue;
      throw error;
    }
    const data = (secret.data ?? {}) as Record<string, string>;
    const payload = data['.dockerconfigjson'] ?? data['.dockercfg'];
    if (!payload) continue;
    try {
      out.push(...credentialsFromDockerConfigJson({ payload: Buffer.from(payload, 'base64'), repository }));
    } catch (error) {
      ctx.warn(`pod ${record.pod.metadata.namespace}/${record.pod.metadata.name}: pull secret ${name}: ${(error as Error).message}`);
    }
  }
  return out;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

export async function pullImage(options: { ctx: KubeletContext; record: PodRecord; container: ContainerSpec; fieldPath: string }): Promise<PullOutcome> {
  const { ctx, record, container, fieldPath } = options;
  const pod = record.pod;
  const image = container.image ?? '';
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) => recordPodEvent(ctx, { pod, type, reason, message, fieldPath });
  const key = `${record.uid}/${image}`;
  const policy = container.imagePullPolicy ?? defaultPullPolicy(image);
  const present = ctx.images.get(image);
  const willPull = shouldPull({ policy, present: present !== undefined });

  if (willPull && ctx.pullBackoff.inBackoff(key)) {
    const message = PullBackoff.message(image);
    event('Normal', 'BackOff', message);
    event('Warning', 'Failed', 'Error: ImagePullBackOff');
    // The waiting message carries the failed pull's error, as kubelet's does (the event does not).
    const previous = record.pullErrors?.get(image);
    return { waiting: { reason: 'ImagePullBackOff', message: previous ? `${message}: ${previous}` : message }, retryAfterMs: 1000 };
  }
  const started = ctx.now().getTime();
  if (willPull) event('Normal', 'Pulling', `Pulling image "${image}"`);
  try {
    const credentials = willPull ? await pullCredentials(ctx, record, image) : [];
    const result = await ctx.images.ensureImage({ image, pullPolicy: policy, credentials });
    ctx.pullBackoff.succeeded(key);
    record.pullErrors?.delete(image);
    if (willPull) {
      const took = seconds(ctx.now().getTime() - started);
      event('Normal', 'Pulled', `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${result.size} bytes.`);
    } else {
      event('Normal', 'Pulled', `Container image "${image}" already present on machine and can be accessed by the pod`);
    }
    return { image: result };
  } catch (error) {
    if (!(error instanceof ImagePullError)) throw error;
    if (error.reason === 'ErrImageNeverPull' || error.reason === 'InvalidImageName') {
      event('Warning', error.reason, error.eventMessage);
      event('Warning', 'Failed', `Error: ${error.reason}`);
      return { waiting: { reason: error.reason, message: error.message }, retryAfterMs: 10_000 };
    }
    ctx.pullBackoff.failed(key);
    (record.pullErrors ??= new Map()).set(image, `${error.reason}: ${error.message}`);
    event('Warning', 'Failed', error.eventMessage);
    event('Warning', 'Failed', `Error: ${error.reason}`);
    return { waiting: { reason: error.reason, message: error.message }, retryAfterMs: 1000 };
  }
}
