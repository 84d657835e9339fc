// Deleting a Job together with its pods. Upstream deletes the Job with
// propagationPolicy Background and leaves the pods to the garbage collector
// (and the pods' tracking finalizers to the Job controller's orphan
// handling). The callers here (TTL-after-finished, CronJob history) also
// delete the pods themselves and drop their tracking finalizers, so that a
// finished Job's pods go at once and also with `--controllers=*,-garbagecollector`;
// the garbage collector then finds nothing left to do.
import { isNotFound, resources, type ApiClient } from '../../client/interface.ts';
import { getControllerOf } from '../framework/controller-ref.ts';
import type { Pod } from '../framework/types.ts';
import { removeFinalizerPatch } from './manage.ts';
import { hasTrackingFinalizer, jobsResource, type Job } from './types.ts';

export interface DeleteJobOptions {
  client: ApiClient;
  job: Job;
  /** Guard the delete with this uid (default the Job's): a same-named newer Job is never deleted. */
  uid?: string;
}

/**
 * Delete the Job (Background propagation), then every pod it controls.
 * Throws NotFound when the Job is already gone (its pods are still swept).
 * The pods are listed from the API, not a cache: a pod created just before
 * the Job went must not survive it.
 */
export async function deleteJobWithPods(options: DeleteJobOptions): Promise<void> {
  const { client, job } = options;
  const namespace = job.metadata.namespace!;
  const uid = options.uid ?? job.metadata.uid!;
  let gone: unknown;
  try {
    await client.delete({ ...jobsResource, namespace, name: job.metadata.name }, { propagationPolicy: 'Background', preconditions: { uid } });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    gone = error;
  }
  await deletePodsOf({ client, namespace, uid });
  if (gone) throw gone;
}

/** Delete the pods controlled by the Job with this uid (standing in for the garbage collector). */
export async function deletePodsOf(options: { client: ApiClient; namespace: string; uid: string }): Promise<void> {
  const { client, namespace, uid } = options;
  const pods = (await client.list<Pod>({ ...resources.pods, namespace })).items.filter((p) => getControllerOf(p)?.uid === uid);
  const results = await Promise.allSettled(pods.map(async (pod) => {
    const ref = { ...resources.pods, namespace, name: pod.metadata.name };
    // The Job is gone: nothing will count this pod any more, so the tracking finalizer only keeps it from going.
    if (hasTrackingFinalizer(pod)) await client.patch(ref, 'strategic', removeFinalizerPatch());
    await client.delete(ref, { preconditions: { uid: pod.metadata.uid } });
  }));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !isNotFound(r.reason));
  if (failed) throw failed.reason;
}
